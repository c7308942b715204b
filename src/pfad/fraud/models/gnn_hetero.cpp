// The heterophily architecture (gnn.h, kHetero): per layer and node type an
// ego part relu(h W_self,t + b_self,t) and, kept apart from it (H2GCN), a
// neighbour part relu(sum over the relations r into t of mean_r(h) W_mean,r +
// max_r(h) W_max,r + b_neigh,t), each H/2 wide and concatenated; the heads read
// the concatenation of h0 and every layer's output (jumping knowledge).
#include <string>
#include <thread>
#include <vector>

#include "pfad/fraud/models/gnn_layers.h"

namespace pfad::fraud::gnn_internal {
namespace {

struct HeteroCache : LayerCache {
  std::array<std::vector<double>, kRelations> inv_degree;            // 1 / neighbours per relation
  std::vector<std::array<Mat, kRelations>> mean, max;                // per layer
  std::vector<std::array<std::vector<int32_t>, kRelations>> argmax;  // per layer
};

class HeteroLayers final : public GnnLayers {
 public:
  HeteroLayers(const GnnParams& params, const AddBlock& add)
      : layers_(params.layers), hidden_(params.hidden) {
    const auto h = static_cast<size_t>(params.hidden), half = h / 2;
    for (int k = 1; k <= params.layers; ++k) {
      const std::string at = "layer" + std::to_string(k) + ".";
      auto& sw = self_w_.emplace_back();
      auto& sb = self_b_.emplace_back();
      auto& nb = neigh_b_.emplace_back();
      // The last layer's product embeddings would reach no head: not computed.
      const bool last = k == params.layers;
      sw.fill(-1);
      sb.fill(-1);
      nb.fill(-1);
      for (const NodeType type : kNodeTypes) {
        if (last && !HasHead(type)) continue;
        const int t = Index(type);
        const std::string name = at + Name(type);
        sw[t] = add(name + ".self.w", h, half);
        sb[t] = add(name + ".self.b", 1, half);
        nb[t] = add(name + ".neigh.b", 1, half);
      }
      auto& mw = mean_w_.emplace_back();
      auto& xw = max_w_.emplace_back();
      mw.fill(-1);
      xw.fill(-1);
      for (int r = 0; r < kRelations; ++r) {
        if (last && !HasHead(kRelation[r].dst)) continue;
        mw[r] = add(at + kRelation[r].name + ".mean.w", h, half);
        xw[r] = add(at + kRelation[r].name + ".max.w", h, half);
      }
    }
  }

  [[nodiscard]] size_t HeadWidth() const override {
    return static_cast<size_t>(hidden_) * static_cast<size_t>(layers_ + 1);
  }

  void Forward(const Weights& w, const Adjacency& links, Pass& pass) const override {
    auto cache = std::make_unique<HeteroCache>();
    for (int r = 0; r < kRelations; ++r) {
      const Csr& csr = links.*kRelation[r].csr;
      cache->inv_degree[r].resize(csr.rows());
      for (size_t i = 0; i < csr.rows(); ++i) {
        cache->inv_degree[r][i] = csr.row(i).empty() ? 0.0 : 1.0 / static_cast<double>(csr.row(i).size());
      }
    }
    cache->mean.assign(static_cast<size_t>(layers_), {});
    cache->max.assign(static_cast<size_t>(layers_), {});
    cache->argmax.assign(static_cast<size_t>(layers_), {});
    const Eigen::Index half = hidden_ / 2;
    for (int k = 0; k < layers_; ++k) {
      const auto& in = pass.h[static_cast<size_t>(k)];
      auto& mean_k = cache->mean[static_cast<size_t>(k)];
      auto& max_k = cache->max[static_cast<size_t>(k)];
      auto& arg_k = cache->argmax[static_cast<size_t>(k)];
      // Two threads: each relation's aggregates are computed by one of them.
      const auto aggregate = [&](int first) {
        for (int r = first; r < kRelations; r += 2) {
          if (mean_w_[k][r] < 0) continue;
          const Relation& rel = kRelation[r];
          mean_k[r].setZero(static_cast<Eigen::Index>((links.*rel.csr).rows()), hidden_);
          SumRows(links.*rel.csr, in[Index(rel.src)], cache->inv_degree[r], mean_k[r]);
          MaxRows(links.*rel.csr, in[Index(rel.src)], max_k[r], arg_k[r]);
        }
      };
      {
        std::jthread other(aggregate, 1);
        aggregate(0);
      }
      for (const NodeType type : kNodeTypes) {
        const int t = Index(type);
        if (self_w_[k][t] < 0) continue;
        Mat z_neigh = Mat::Zero(in[t].rows(), half);
        z_neigh.rowwise() += w(neigh_b_[k][t]).row(0);
        for (int r = 0; r < kRelations; ++r) {
          if (kRelation[r].dst != type) continue;
          z_neigh += mean_k[r] * w(mean_w_[k][r]) + max_k[r] * w(max_w_[k][r]);
        }
        Mat& out = pass.h[static_cast<size_t>(k + 1)][t];
        out.resize(in[t].rows(), hidden_);
        out.leftCols(half) = Relu((in[t] * w(self_w_[k][t])).rowwise() + w(self_b_[k][t]).row(0));
        out.rightCols(half) = Relu(z_neigh);
      }
    }
    pass.cache = std::move(cache);
  }

  void ReadOut(const Pass& pass, int head, const ConstMap& w, Vec& logit) const override {
    for (int l = 0; l <= layers_; ++l) {
      logit += pass.h[static_cast<size_t>(l)][head] * w.col(0).segment(l * hidden_, hidden_);
    }
  }

  void ReadOutBackward(const Pass& pass, int head, const ConstMap& w, const Vec& dlogit, Mat& dw,
                       Levels& dh) const override {
    for (int l = 0; l <= layers_; ++l) {
      dw.col(0).segment(l * hidden_, hidden_) += pass.h[static_cast<size_t>(l)][head].transpose() * dlogit;
      dh[static_cast<size_t>(l)][head] += dlogit * w.col(0).segment(l * hidden_, hidden_).transpose();
    }
  }

  void Backward(const Weights& w, const Adjacency& links, const Pass& pass, Levels& dh,
                std::vector<Mat>& grads) const override {
    const auto& cache = static_cast<const HeteroCache&>(*pass.cache);
    const Eigen::Index half = hidden_ / 2;
    for (int k = layers_ - 1; k >= 0; --k) {
      const auto& in = pass.h[static_cast<size_t>(k)];
      const auto& out = pass.h[static_cast<size_t>(k + 1)];
      auto& din = dh[static_cast<size_t>(k)];
      const auto& dout = dh[static_cast<size_t>(k + 1)];
      std::array<Mat, kTypes> dz_neigh;
      for (int t = 0; t < kTypes; ++t) {
        if (self_w_[k][t] < 0) continue;
        const Mat de = ReluBack(dout[t].leftCols(half), out[t].leftCols(half));
        grads[static_cast<size_t>(self_w_[k][t])] += in[t].transpose() * de;
        grads[static_cast<size_t>(self_b_[k][t])] += de.colwise().sum();
        din[t] += de * w(self_w_[k][t]).transpose();
        dz_neigh[t] = ReluBack(dout[t].rightCols(half), out[t].rightCols(half));
        grads[static_cast<size_t>(neigh_b_[k][t])] += dz_neigh[t].colwise().sum();
      }
      for (int r = 0; r < kRelations; ++r) {
        if (mean_w_[k][r] < 0) continue;
        const Relation& rel = kRelation[r];
        const Mat& dz = dz_neigh[Index(rel.dst)];
        grads[static_cast<size_t>(mean_w_[k][r])] += cache.mean[static_cast<size_t>(k)][r].transpose() * dz;
        grads[static_cast<size_t>(max_w_[k][r])] += cache.max[static_cast<size_t>(k)][r].transpose() * dz;
        ScatterRows(links.*rel.csr, dz * w(mean_w_[k][r]).transpose(), cache.inv_degree[r],
                    din[Index(rel.src)]);
        ScatterMax(dz * w(max_w_[k][r]).transpose(), cache.argmax[static_cast<size_t>(k)][r],
                   din[Index(rel.src)]);
      }
    }
  }

 private:
  int layers_;
  int hidden_;
  // Block indices per layer (-1: not computed, the last layer's products).
  std::vector<std::array<int, kTypes>> self_w_, self_b_, neigh_b_;
  std::vector<std::array<int, kRelations>> mean_w_, max_w_;
};

}  // namespace

std::unique_ptr<GnnLayers> MakeHeteroLayers(const GnnParams& params, const AddBlock& add) {
  return std::make_unique<HeteroLayers>(params, add);
}

}  // namespace pfad::fraud::gnn_internal
