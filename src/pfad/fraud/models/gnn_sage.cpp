// GraphSAGE with mean aggregation (gnn.h, kSage): per layer
// h' = relu(h W_self + mean(all neighbours' h) W_neigh + b), the weights shared
// by all node types, the mean over every relation into the node at once; the
// heads read the last layer.
#include <string>
#include <vector>

#include "pfad/fraud/models/gnn_layers.h"

namespace pfad::fraud::gnn_internal {
namespace {

struct SageCache : LayerCache {
  std::array<std::vector<double>, kTypes> inv_total;  // 1 / all neighbours, per node
  std::vector<std::array<Mat, kTypes>> neigh;         // mean of all neighbours, per layer
};

class SageLayers final : public GnnLayers {
 public:
  SageLayers(const GnnParams& params, const AddBlock& add) : layers_(params.layers), hidden_(params.hidden) {
    const auto h = static_cast<size_t>(params.hidden);
    for (int k = 1; k <= params.layers; ++k) {
      const std::string at = "layer" + std::to_string(k) + ".";
      self_.push_back(add(at + "self.w", h, h));
      neigh_.push_back(add(at + "neigh.w", h, h));
      bias_.push_back(add(at + "b", 1, h));
    }
  }

  [[nodiscard]] size_t HeadWidth() const override { return static_cast<size_t>(hidden_); }

  void Forward(const Weights& w, const Adjacency& links, Pass& pass) const override {
    auto cache = std::make_unique<SageCache>();
    for (const NodeType type : kNodeTypes) {
      const int t = Index(type);
      const auto n = static_cast<size_t>(pass.h[0][t].rows());
      cache->inv_total[t].assign(n, 0.0);
      for (const Relation& r : kRelation) {
        if (r.dst != type) continue;
        for (size_t i = 0; i < n; ++i)
          cache->inv_total[t][i] += static_cast<double>((links.*r.csr).row(i).size());
      }
      for (double& d : cache->inv_total[t]) d = d == 0 ? 0.0 : 1 / d;
    }
    cache->neigh.assign(static_cast<size_t>(layers_), {});
    for (int k = 0; k < layers_; ++k) {
      const auto& in = pass.h[static_cast<size_t>(k)];
      auto& neigh = cache->neigh[static_cast<size_t>(k)];
      for (int t = 0; t < kTypes; ++t) neigh[t].setZero(in[t].rows(), hidden_);
      for (const Relation& r : kRelation)
        SumRows(links.*r.csr, in[Index(r.src)], cache->inv_total[Index(r.dst)], neigh[Index(r.dst)]);
      for (int t = 0; t < kTypes; ++t) {
        pass.h[static_cast<size_t>(k + 1)][t] =
            Relu((in[t] * w(self_[k]) + neigh[t] * w(neigh_[k])).rowwise() + w(bias_[k]).row(0));
      }
    }
    pass.cache = std::move(cache);
  }

  void ReadOut(const Pass& pass, int head, const ConstMap& w, Vec& logit) const override {
    logit += pass.h[static_cast<size_t>(layers_)][head] * w.col(0);
  }

  void ReadOutBackward(const Pass& pass, int head, const ConstMap& w, const Vec& dlogit, Mat& dw,
                       Levels& dh) const override {
    dw.col(0) += pass.h[static_cast<size_t>(layers_)][head].transpose() * dlogit;
    dh[static_cast<size_t>(layers_)][head] += dlogit * w.col(0).transpose();
  }

  void Backward(const Weights& w, const Adjacency& links, const Pass& pass, Levels& dh,
                std::vector<Mat>& grads) const override {
    const auto& cache = static_cast<const SageCache&>(*pass.cache);
    for (int k = layers_ - 1; k >= 0; --k) {
      const auto& in = pass.h[static_cast<size_t>(k)];
      const auto& out = pass.h[static_cast<size_t>(k + 1)];
      auto& din = dh[static_cast<size_t>(k)];
      const auto& dout = dh[static_cast<size_t>(k + 1)];
      const auto& neigh = cache.neigh[static_cast<size_t>(k)];
      std::array<Mat, kTypes> dneigh;
      for (int t = 0; t < kTypes; ++t) {
        const Mat dz = ReluBack(dout[t], out[t]);
        grads[static_cast<size_t>(self_[k])] += in[t].transpose() * dz;
        grads[static_cast<size_t>(neigh_[k])] += neigh[t].transpose() * dz;
        grads[static_cast<size_t>(bias_[k])] += dz.colwise().sum();
        din[t] += dz * w(self_[k]).transpose();
        dneigh[t] = dz * w(neigh_[k]).transpose();
      }
      for (const Relation& r : kRelation)
        ScatterRows(links.*r.csr, dneigh[Index(r.dst)], cache.inv_total[Index(r.dst)], din[Index(r.src)]);
    }
  }

 private:
  int layers_;
  int hidden_;
  std::vector<int> self_, neigh_, bias_;  // block indices, per layer
};

}  // namespace

std::unique_ptr<GnnLayers> MakeSageLayers(const GnnParams& params, const AddBlock& add) {
  return std::make_unique<SageLayers>(params, add);
}

}  // namespace pfad::fraud::gnn_internal
