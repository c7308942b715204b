#include "pfad/fraud/models/gnn.h"

// Eigen never starts threads of its own here (it would only with OpenMP):
// the fraud stage keeps to at most two threads of its own.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <thread>

#include "pfad/events/generator.h"

namespace pfad::fraud {
namespace {

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXd;
using ConstMap = Eigen::Map<const Mat>;

constexpr std::string_view kMagic = "PFAD-GNN 1\n";
constexpr int kTypes = 3;  // users, sessions, products (the node types)
constexpr int kHeads = 2;  // users, sessions (the scored kinds)
constexpr int kRelations = 6;

// Relation r carries messages from src nodes to dst nodes along links.*csr
// (the dst node's row lists its src neighbours).
struct Relation {
  int dst, src;
  Csr Adjacency::* csr;
};
constexpr Relation kRelation[kRelations] = {
    {0, 1, &Adjacency::user_sessions}, {0, 2, &Adjacency::user_products},
    {1, 0, &Adjacency::session_users}, {1, 2, &Adjacency::session_products},
    {2, 0, &Adjacency::product_users}, {2, 1, &Adjacency::product_sessions}};
constexpr const char* kTypeName[kTypes] = {"user", "session", "product"};
constexpr const char* kRelationName[kRelations] = {"user<-session",    "user<-product", "session<-user",
                                                   "session<-product", "product<-user", "product<-session"};

size_t InputWidth(int type) { return type == 2 ? ProductFeatureNames().size() : NodeFeatureNames().size(); }

// Where each parameter block lives in Gnn::blocks(), for one architecture.
struct Layout {
  int in_w[kTypes], in_b[kTypes];
  // kSage, per layer
  std::vector<int> sage_self, sage_neigh, sage_b;
  // kHetero, per layer
  std::vector<std::array<int, kTypes>> self_w, self_b, neigh_b;
  std::vector<std::array<int, kRelations>> mean_w, max_w;
  int head_w[kHeads], head_b[kHeads];
  size_t head_width = 0;
};

// The blocks' layout; `add(name, rows, cols)` returns the block index.
template <typename Add>
Layout MakeLayout(const GnnParams& p, Add add) {
  Layout l;
  const auto h = static_cast<size_t>(p.hidden), half = h / 2;
  for (int t = 0; t < kTypes; ++t) {
    l.in_w[t] = add(std::string("input.") + kTypeName[t] + ".w", InputWidth(t), h);
    l.in_b[t] = add(std::string("input.") + kTypeName[t] + ".b", 1, h);
  }
  for (int k = 1; k <= p.layers; ++k) {
    const std::string at = "layer" + std::to_string(k) + ".";
    if (p.architecture == GnnArchitecture::kSage) {
      l.sage_self.push_back(add(at + "self.w", h, h));
      l.sage_neigh.push_back(add(at + "neigh.w", h, h));
      l.sage_b.push_back(add(at + "b", 1, h));
      continue;
    }
    auto& sw = l.self_w.emplace_back();
    auto& sb = l.self_b.emplace_back();
    auto& nb = l.neigh_b.emplace_back();
    // The last layer's product embeddings would reach no head: not computed.
    const bool last = k == p.layers;
    sw.fill(-1);
    sb.fill(-1);
    nb.fill(-1);
    for (int t = 0; t < (last ? kHeads : kTypes); ++t) {
      sw[t] = add(at + kTypeName[t] + ".self.w", h, half);
      sb[t] = add(at + kTypeName[t] + ".self.b", 1, half);
      nb[t] = add(at + kTypeName[t] + ".neigh.b", 1, half);
    }
    auto& mw = l.mean_w.emplace_back();
    auto& xw = l.max_w.emplace_back();
    mw.fill(-1);
    xw.fill(-1);
    for (int r = 0; r < kRelations; ++r) {
      if (last && kRelation[r].dst >= kHeads) continue;
      mw[r] = add(at + kRelationName[r] + ".mean.w", h, half);
      xw[r] = add(at + kRelationName[r] + ".max.w", h, half);
    }
  }
  l.head_width = p.architecture == GnnArchitecture::kSage ? h : h * static_cast<size_t>(p.layers + 1);
  for (int k = 0; k < kHeads; ++k) {
    l.head_w[k] = add(std::string("head.") + kTypeName[k] + ".w", l.head_width, 1);
    l.head_b[k] = add(std::string("head.") + kTypeName[k] + ".b", 1, 1);
  }
  return l;
}

Layout LayoutOf(const GnnParams& p) {
  int next = 0;
  return MakeLayout(p, [&](const std::string&, size_t, size_t) { return next++; });
}

double Signed(double x) { return std::copysign(std::log1p(std::abs(x)), x); }

// The raw input matrix of a node type (rows x columns, before the transform).
const double* RawInputs(const NodeFeatures& nodes, int type, size_t& rows) {
  if (type == 2) {
    rows = nodes.products.size() / ProductFeatureNames().size();
    return nodes.products.data();
  }
  const FeatureTable& t = type == 0 ? nodes.users : nodes.sessions;
  rows = t.rows();
  return t.values.data();
}

size_t NodeCount(const NodeFeatures& nodes, int type) {
  size_t rows = 0;
  RawInputs(nodes, type, rows);
  return rows;
}

Status CheckShapes(const NodeFeatures& nodes, const Adjacency& links) {
  for (int t = 0; t < 2; ++t) {
    const FeatureTable& table = t == 0 ? nodes.users : nodes.sessions;
    if (table.rows() > 0 && table.cols() != InputWidth(t)) {
      return Status::Invalid("the GNN needs the ", InputWidth(t), " node features per ", kTypeName[t],
                             ", got ", table.cols());
    }
  }
  if (nodes.products.size() % InputWidth(2) != 0)
    return Status::Invalid("the GNN's product features are cut off");
  for (const Relation& r : kRelation) {
    if ((links.*r.csr).rows() != NodeCount(nodes, r.dst)) {
      return Status::Invalid("the GNN's graph has ", (links.*r.csr).rows(), " ", kTypeName[r.dst],
                             " rows, its features ", NodeCount(nodes, r.dst));
    }
  }
  return Status::OK();
}

// dst.row(i) += scale[i] * sum of src rows over csr.row(i). Plain loops over
// rows of H doubles: the compiler vectorises them, Eigen's dynamic row views
// measured slower here.
void SumRows(const Csr& csr, const Mat& src, const std::vector<double>& scale, Mat& dst) {
  const auto width = static_cast<size_t>(src.cols());
  for (size_t i = 0; i < csr.rows(); ++i) {
    double* out = dst.data() + i * width;
    const double f = scale[i];
    for (const uint32_t j : csr.row(i)) {
      const double* in = src.data() + static_cast<size_t>(j) * width;
      for (size_t c = 0; c < width; ++c) out[c] += f * in[c];
    }
  }
}

// The transpose of SumRows: dsrc.row(j) += scale[i] * ddst.row(i) for j in csr.row(i).
void ScatterRows(const Csr& csr, const Mat& ddst, const std::vector<double>& scale, Mat& dsrc) {
  const auto width = static_cast<size_t>(ddst.cols());
  for (size_t i = 0; i < csr.rows(); ++i) {
    const double* in = ddst.data() + i * width;
    const double f = scale[i];
    for (const uint32_t j : csr.row(i)) {
      double* out = dsrc.data() + static_cast<size_t>(j) * width;
      for (size_t c = 0; c < width; ++c) out[c] += f * in[c];
    }
  }
}

// Elementwise max over each row's neighbours (0 without neighbours), with the winning src row.
void MaxRows(const Csr& csr, const Mat& src, Mat& dst, std::vector<int32_t>& arg) {
  const auto width = static_cast<size_t>(src.cols());
  dst.setZero(static_cast<Eigen::Index>(csr.rows()), src.cols());
  arg.assign(csr.rows() * width, -1);
  for (size_t i = 0; i < csr.rows(); ++i) {
    const auto row = csr.row(i);
    if (row.empty()) continue;
    double* out = dst.data() + i * width;
    int32_t* at = arg.data() + i * width;
    std::copy_n(src.data() + static_cast<size_t>(row[0]) * width, width, out);
    std::fill_n(at, width, static_cast<int32_t>(row[0]));
    for (size_t k = 1; k < row.size(); ++k) {
      const double* in = src.data() + static_cast<size_t>(row[k]) * width;
      const auto j = static_cast<int32_t>(row[k]);
      for (size_t c = 0; c < width; ++c) {
        const bool more = in[c] > out[c];
        out[c] = more ? in[c] : out[c];
        at[c] = more ? j : at[c];
      }
    }
  }
}

void ScatterMax(const Mat& ddst, const std::vector<int32_t>& arg, Mat& dsrc) {
  const auto width = static_cast<size_t>(ddst.cols());
  const double* in = ddst.data();
  double* out = dsrc.data();
  for (size_t k = 0; k < arg.size(); ++k) {
    if (arg[k] >= 0) out[static_cast<size_t>(arg[k]) * width + k % width] += in[k];
  }
}

Mat Relu(const Mat& z) { return z.cwiseMax(0.0); }
// The gradient through relu, given its output.
Mat ReluBack(const Mat& dout, const Mat& out) { return (out.array() > 0).select(dout, 0.0); }

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
double Softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

// FNV-1a over the bits of every number the network computes with.
uint64_t Checksum(const std::vector<Gnn::Block>& blocks, const std::vector<double> (&mean)[kTypes],
                  const std::vector<double> (&std)[kTypes]) {
  uint64_t h = 1469598103934665603ULL;
  const auto add = [&](const std::vector<double>& values) {
    for (const double v : values) {
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      for (int i = 0; i < 8; ++i) {
        h ^= (bits >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
      }
    }
  };
  for (const auto& b : blocks) add(b.values);
  for (int t = 0; t < kTypes; ++t) {
    add(mean[t]);
    add(std[t]);
  }
  return h;
}

// One forward pass over a graph, with what the backward pass needs.
struct GnnPass {
  std::array<Mat, kTypes> x;                               // standardised inputs
  std::vector<std::array<Mat, kTypes>> h;                  // h[0] = projection, h[k] = layer k's output
  std::array<std::vector<double>, kTypes> inv_total;       // kSage: 1 / all neighbours
  std::array<std::vector<double>, kRelations> inv_degree;  // kHetero: 1 / neighbours per relation
  std::vector<std::array<Mat, kTypes>> neigh;              // kSage: mean of all neighbours, per layer
  std::vector<std::array<Mat, kRelations>> mean, max;      // kHetero, per layer
  std::vector<std::array<std::vector<int32_t>, kRelations>> argmax;  // kHetero, per layer
  Vec logit[kHeads];
};

struct Network {
  const GnnParams& p;
  const Layout layout;
  const std::vector<Gnn::Block>& blocks;
  const std::vector<double>* mean;
  const std::vector<double>* std;

  [[nodiscard]] ConstMap W(int block) const {
    const auto& b = blocks[static_cast<size_t>(block)];
    return {b.values.data(), static_cast<Eigen::Index>(b.rows), static_cast<Eigen::Index>(b.cols)};
  }

  void Forward(const NodeFeatures& nodes, const Adjacency& links, GnnPass& pass) const {
    const int layers = p.layers;
    for (int t = 0; t < kTypes; ++t) {
      size_t rows = 0;
      const double* raw = RawInputs(nodes, t, rows);
      const size_t cols = InputWidth(t);
      Mat& x = pass.x[t];
      x.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
          x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
              (Signed(raw[r * cols + c]) - mean[t][c]) / std[t][c];
        }
      }
    }
    pass.h.assign(static_cast<size_t>(layers + 1), {});
    for (int t = 0; t < kTypes; ++t) {
      pass.h[0][t] = Relu((pass.x[t] * W(layout.in_w[t])).rowwise() + W(layout.in_b[t]).row(0));
    }
    if (p.architecture == GnnArchitecture::kSage) {
      for (int t = 0; t < kTypes; ++t) {
        const size_t n = NodeCount(nodes, t);
        pass.inv_total[t].assign(n, 0.0);
        for (const Relation& r : kRelation) {
          if (r.dst != t) continue;
          for (size_t i = 0; i < n; ++i)
            pass.inv_total[t][i] += static_cast<double>((links.*r.csr).row(i).size());
        }
        for (double& d : pass.inv_total[t]) d = d == 0 ? 0.0 : 1 / d;
      }
      pass.neigh.assign(static_cast<size_t>(layers), {});
      for (int k = 0; k < layers; ++k) {
        const auto& in = pass.h[static_cast<size_t>(k)];
        auto& neigh = pass.neigh[static_cast<size_t>(k)];
        for (int t = 0; t < kTypes; ++t) neigh[t].setZero(in[t].rows(), p.hidden);
        for (const Relation& r : kRelation)
          SumRows(links.*r.csr, in[r.src], pass.inv_total[r.dst], neigh[r.dst]);
        for (int t = 0; t < kTypes; ++t) {
          pass.h[static_cast<size_t>(k + 1)][t] =
              Relu((in[t] * W(layout.sage_self[k]) + neigh[t] * W(layout.sage_neigh[k])).rowwise() +
                   W(layout.sage_b[k]).row(0));
        }
      }
    } else {
      for (int r = 0; r < kRelations; ++r) {
        const Csr& csr = links.*kRelation[r].csr;
        pass.inv_degree[r].resize(csr.rows());
        for (size_t i = 0; i < csr.rows(); ++i) {
          pass.inv_degree[r][i] = csr.row(i).empty() ? 0.0 : 1.0 / static_cast<double>(csr.row(i).size());
        }
      }
      pass.mean.assign(static_cast<size_t>(layers), {});
      pass.max.assign(static_cast<size_t>(layers), {});
      pass.argmax.assign(static_cast<size_t>(layers), {});
      const Eigen::Index half = p.hidden / 2;
      for (int k = 0; k < layers; ++k) {
        const auto& in = pass.h[static_cast<size_t>(k)];
        auto& mean_k = pass.mean[static_cast<size_t>(k)];
        auto& max_k = pass.max[static_cast<size_t>(k)];
        auto& arg_k = pass.argmax[static_cast<size_t>(k)];
        // Two threads: each relation's aggregates are computed by one of them.
        const auto aggregate = [&](int first) {
          for (int r = first; r < kRelations; r += 2) {
            if (layout.mean_w[k][r] < 0) continue;
            const Relation& rel = kRelation[r];
            mean_k[r].setZero(static_cast<Eigen::Index>((links.*rel.csr).rows()), p.hidden);
            SumRows(links.*rel.csr, in[rel.src], pass.inv_degree[r], mean_k[r]);
            MaxRows(links.*rel.csr, in[rel.src], max_k[r], arg_k[r]);
          }
        };
        {
          std::jthread other(aggregate, 1);
          aggregate(0);
        }
        for (int t = 0; t < kTypes; ++t) {
          if (layout.self_w[k][t] < 0) continue;
          Mat z_neigh = Mat::Zero(in[t].rows(), half);
          z_neigh.rowwise() += W(layout.neigh_b[k][t]).row(0);
          for (int r = 0; r < kRelations; ++r) {
            if (kRelation[r].dst != t) continue;
            z_neigh += mean_k[r] * W(layout.mean_w[k][r]) + max_k[r] * W(layout.max_w[k][r]);
          }
          Mat& out = pass.h[static_cast<size_t>(k + 1)][t];
          out.resize(in[t].rows(), p.hidden);
          out.leftCols(half) =
              Relu((in[t] * W(layout.self_w[k][t])).rowwise() + W(layout.self_b[k][t]).row(0));
          out.rightCols(half) = Relu(z_neigh);
        }
      }
    }
    for (int k = 0; k < kHeads; ++k) {
      const ConstMap w = W(layout.head_w[k]);
      Vec& logit = pass.logit[k];
      logit = Vec::Constant(pass.x[k].rows(), W(layout.head_b[k])(0, 0));
      if (p.architecture == GnnArchitecture::kSage) {
        logit += pass.h[static_cast<size_t>(layers)][k] * w.col(0);
      } else {
        for (int l = 0; l <= layers; ++l) {
          logit += pass.h[static_cast<size_t>(l)][k] * w.col(0).segment(l * p.hidden, p.hidden);
        }
      }
    }
  }

  // Accumulates into grads (one per block, shaped like it) the gradient of
  // sum_k dlogit[k] . logit[k]; when dx is given, also the inputs' gradient.
  void Backward(const Adjacency& links, const GnnPass& pass, const Vec (&dlogit)[kHeads],
                std::vector<Mat>& grads, std::array<Mat, kTypes>* dx) const {
    const int layers = p.layers;
    std::vector<std::array<Mat, kTypes>> dh(static_cast<size_t>(layers + 1));
    for (auto& level : dh) {
      for (int t = 0; t < kTypes; ++t) level[t].setZero(pass.h[0][t].rows(), p.hidden);
    }
    for (int k = 0; k < kHeads; ++k) {
      const ConstMap w = W(layout.head_w[k]);
      grads[static_cast<size_t>(layout.head_b[k])](0, 0) += dlogit[k].sum();
      Mat& dw = grads[static_cast<size_t>(layout.head_w[k])];
      if (p.architecture == GnnArchitecture::kSage) {
        dw.col(0) += pass.h[static_cast<size_t>(layers)][k].transpose() * dlogit[k];
        dh[static_cast<size_t>(layers)][k] += dlogit[k] * w.col(0).transpose();
      } else {
        for (int l = 0; l <= layers; ++l) {
          dw.col(0).segment(l * p.hidden, p.hidden) +=
              pass.h[static_cast<size_t>(l)][k].transpose() * dlogit[k];
          dh[static_cast<size_t>(l)][k] += dlogit[k] * w.col(0).segment(l * p.hidden, p.hidden).transpose();
        }
      }
    }
    const Eigen::Index half = p.hidden / 2;
    for (int k = layers - 1; k >= 0; --k) {
      const auto& in = pass.h[static_cast<size_t>(k)];
      const auto& out = pass.h[static_cast<size_t>(k + 1)];
      auto& din = dh[static_cast<size_t>(k)];
      const auto& dout = dh[static_cast<size_t>(k + 1)];
      if (p.architecture == GnnArchitecture::kSage) {
        const auto& neigh = pass.neigh[static_cast<size_t>(k)];
        std::array<Mat, kTypes> dneigh;
        for (int t = 0; t < kTypes; ++t) {
          const Mat dz = ReluBack(dout[t], out[t]);
          grads[static_cast<size_t>(layout.sage_self[k])] += in[t].transpose() * dz;
          grads[static_cast<size_t>(layout.sage_neigh[k])] += neigh[t].transpose() * dz;
          grads[static_cast<size_t>(layout.sage_b[k])] += dz.colwise().sum();
          din[t] += dz * W(layout.sage_self[k]).transpose();
          dneigh[t] = dz * W(layout.sage_neigh[k]).transpose();
        }
        for (const Relation& r : kRelation)
          ScatterRows(links.*r.csr, dneigh[r.dst], pass.inv_total[r.dst], din[r.src]);
        continue;
      }
      std::array<Mat, kTypes> dz_neigh;
      for (int t = 0; t < kTypes; ++t) {
        if (layout.self_w[k][t] < 0) continue;
        const Mat de = ReluBack(dout[t].leftCols(half), out[t].leftCols(half));
        grads[static_cast<size_t>(layout.self_w[k][t])] += in[t].transpose() * de;
        grads[static_cast<size_t>(layout.self_b[k][t])] += de.colwise().sum();
        din[t] += de * W(layout.self_w[k][t]).transpose();
        dz_neigh[t] = ReluBack(dout[t].rightCols(half), out[t].rightCols(half));
        grads[static_cast<size_t>(layout.neigh_b[k][t])] += dz_neigh[t].colwise().sum();
      }
      for (int r = 0; r < kRelations; ++r) {
        if (layout.mean_w[k][r] < 0) continue;
        const Relation& rel = kRelation[r];
        const Mat& dz = dz_neigh[rel.dst];
        grads[static_cast<size_t>(layout.mean_w[k][r])] +=
            pass.mean[static_cast<size_t>(k)][r].transpose() * dz;
        grads[static_cast<size_t>(layout.max_w[k][r])] +=
            pass.max[static_cast<size_t>(k)][r].transpose() * dz;
        ScatterRows(links.*rel.csr, dz * W(layout.mean_w[k][r]).transpose(), pass.inv_degree[r],
                    din[rel.src]);
        ScatterMax(dz * W(layout.max_w[k][r]).transpose(), pass.argmax[static_cast<size_t>(k)][r],
                   din[rel.src]);
      }
    }
    for (int t = 0; t < kTypes; ++t) {
      const Mat dz = ReluBack(dh[0][t], pass.h[0][t]);
      grads[static_cast<size_t>(layout.in_w[t])] += pass.x[t].transpose() * dz;
      grads[static_cast<size_t>(layout.in_b[t])] += dz.colwise().sum();
      if (dx != nullptr) (*dx)[t] = dz * W(layout.in_w[t]).transpose();
    }
  }
};

std::vector<Mat> ZeroGradients(const std::vector<Gnn::Block>& blocks) {
  std::vector<Mat> grads;
  grads.reserve(blocks.size());
  for (const auto& b : blocks)
    grads.push_back(Mat::Zero(static_cast<Eigen::Index>(b.rows), static_cast<Eigen::Index>(b.cols)));
  return grads;
}

const std::vector<uint8_t>& Labels(const GnnGraph& g, int kind) {
  return kind == 0 ? g.user_labels : g.session_labels;
}
const std::vector<uint8_t>& Mask(const GnnGraph& g, int kind) {
  return kind == 0 ? g.user_mask : g.session_mask;
}

// Per kind: the weight of a positive and the sum of all training weights.
struct ClassWeights {
  double positive[kHeads] = {1, 1};
  double total[kHeads] = {0, 0};
};

Result<ClassWeights> Weigh(std::span<const GnnGraph> graphs) {
  ClassWeights w;
  bool any = false;
  for (int k = 0; k < kHeads; ++k) {
    double pos = 0, neg = 0;
    for (const auto& g : graphs) {
      const auto& y = Labels(g, k);
      const auto& m = Mask(g, k);
      if (y.empty()) continue;
      const size_t n = NodeCount(*g.nodes, k);
      if (y.size() != n || m.size() != n) {
        return Status::Invalid("the GNN's ", kTypeName[k], " labels and mask need one entry per ",
                               kTypeName[k], " (", n, "), got ", y.size(), " and ", m.size());
      }
      for (size_t i = 0; i < n; ++i) {
        if (m[i]) (y[i] ? pos : neg) += 1;
      }
    }
    if (pos > 0 && neg > 0) {
      any = true;
      w.positive[k] = neg / pos;
      w.total[k] = neg + pos * w.positive[k];
    }
  }
  if (!any) return Status::Invalid("the GNN needs training rows of both classes for users or sessions");
  return w;
}

}  // namespace

std::string_view ToString(GnnArchitecture architecture) {
  return architecture == GnnArchitecture::kSage ? "sage" : "hetero";
}

Result<Gnn> Gnn::Initialise(std::span<const GnnGraph> graphs, const GnnParams& params) {
  if (params.hidden < 2 || params.hidden % 2 != 0)
    return Status::Invalid("the GNN's hidden size must be even and >= 2");
  if (params.layers < 1) return Status::Invalid("the GNN needs at least one layer");
  if (graphs.empty()) return Status::Invalid("the GNN needs a graph to train on");
  Gnn gnn;
  gnn.params_ = params;
  for (const auto& g : graphs) {
    if (g.nodes == nullptr || g.links == nullptr)
      return Status::Invalid("a GNN training graph lacks features or links");
    PFAD_RETURN_NOT_OK(CheckShapes(*g.nodes, *g.links));
  }
  // Standardisation over all rows of all graphs (no labels involved).
  for (int t = 0; t < kTypes; ++t) {
    const size_t cols = InputWidth(t);
    std::vector<double> sum(cols, 0.0), squares(cols, 0.0);
    double n = 0;
    for (const auto& g : graphs) {
      size_t rows = 0;
      const double* raw = RawInputs(*g.nodes, t, rows);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) sum[c] += Signed(raw[r * cols + c]);
      }
      n += static_cast<double>(rows);
    }
    gnn.mean_[t].assign(cols, 0.0);
    gnn.std_[t].assign(cols, 1.0);
    if (n == 0) continue;
    for (size_t c = 0; c < cols; ++c) gnn.mean_[t][c] = sum[c] / n;
    for (const auto& g : graphs) {
      size_t rows = 0;
      const double* raw = RawInputs(*g.nodes, t, rows);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
          const double d = Signed(raw[r * cols + c]) - gnn.mean_[t][c];
          squares[c] += d * d;
        }
      }
    }
    for (size_t c = 0; c < cols; ++c) {
      const double sd = std::sqrt(squares[c] / n);
      gnn.std_[t][c] = sd > 1e-12 ? sd : 1.0;
    }
  }
  // Glorot-uniform weights drawn in block order from one Rng; hidden biases
  // start slightly positive so that fewer relu units start dead (their inputs
  // are relu outputs, all >= 0), the heads' biases at 0.
  events::Rng rng(params.seed);
  MakeLayout(params, [&](const std::string& name, size_t rows, size_t cols) {
    const bool bias = name.ends_with(".b");
    Block b{name, rows, cols,
            std::vector<double>(rows * cols, bias && !name.starts_with("head.") ? 0.1 : 0.0)};
    if (!bias) {
      const double a = std::sqrt(6.0 / static_cast<double>(rows + cols));
      for (double& v : b.values) v = (2 * rng.UnitDouble() - 1) * a;
    }
    gnn.blocks_.push_back(std::move(b));
    return static_cast<int>(gnn.blocks_.size() - 1);
  });
  return gnn;
}

Result<double> Gnn::Loss(std::span<const GnnGraph> graphs, std::vector<std::vector<double>>* gradient) const {
  PFAD_ASSIGN_OR_RAISE(const ClassWeights weights, Weigh(graphs));
  const Network net{params_, LayoutOf(params_), blocks_, mean_, std_};
  std::vector<Mat> grads = ZeroGradients(blocks_);
  double loss = 0;
  for (const auto& g : graphs) {
    PFAD_RETURN_NOT_OK(CheckShapes(*g.nodes, *g.links));
    GnnPass pass;
    net.Forward(*g.nodes, *g.links, pass);
    Vec dlogit[kHeads];
    for (int k = 0; k < kHeads; ++k) {
      dlogit[k] = Vec::Zero(pass.logit[k].size());
      if (weights.total[k] == 0 || Labels(g, k).empty()) continue;
      const auto& y = Labels(g, k);
      const auto& m = Mask(g, k);
      for (Eigen::Index i = 0; i < pass.logit[k].size(); ++i) {
        const auto r = static_cast<size_t>(i);
        if (!m[r]) continue;
        const double w = (y[r] ? weights.positive[k] : 1.0) / weights.total[k];
        const double z = pass.logit[k](i);
        loss += w * (y[r] ? Softplus(-z) : Softplus(z));
        dlogit[k](i) = w * (Sigmoid(z) - y[r]);
      }
    }
    if (gradient != nullptr) net.Backward(*g.links, pass, dlogit, grads, nullptr);
  }
  if (gradient != nullptr) {
    gradient->clear();
    for (const Mat& m : grads) gradient->emplace_back(m.data(), m.data() + m.size());
  }
  return loss;
}

Result<Gnn> Gnn::Train(std::span<const GnnGraph> graphs, const GnnParams& params) {
  PFAD_ASSIGN_OR_RAISE(Gnn gnn, Initialise(graphs, params));
  PFAD_RETURN_NOT_OK(Weigh(graphs).status());
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEpsilon = 1e-8;
  std::vector<std::vector<double>> m1, m2, grad;
  for (const auto& b : gnn.blocks_) {
    m1.emplace_back(b.values.size(), 0.0);
    m2.emplace_back(b.values.size(), 0.0);
  }
  for (int epoch = 1; epoch <= params.epochs; ++epoch) {
    PFAD_RETURN_NOT_OK(gnn.Loss(graphs, &grad).status());
    const double c1 = 1 - std::pow(kBeta1, epoch), c2 = 1 - std::pow(kBeta2, epoch);
    for (size_t b = 0; b < gnn.blocks_.size(); ++b) {
      auto& values = gnn.blocks_[b].values;
      const bool bias = gnn.blocks_[b].name.ends_with(".b");
      for (size_t i = 0; i < values.size(); ++i) {
        m1[b][i] = kBeta1 * m1[b][i] + (1 - kBeta1) * grad[b][i];
        m2[b][i] = kBeta2 * m2[b][i] + (1 - kBeta2) * grad[b][i] * grad[b][i];
        const double step = (m1[b][i] / c1) / (std::sqrt(m2[b][i] / c2) + kEpsilon);
        values[i] -= params.learning_rate * (step + (bias ? 0.0 : params.weight_decay * values[i]));
      }
    }
  }
  return gnn;
}

namespace {

// The heads' probabilities of a forward pass.
GnnScores ScoresOf(const GnnPass& pass) {
  GnnScores out;
  for (int k = 0; k < kHeads; ++k) {
    auto& scores = k == 0 ? out.users : out.sessions;
    scores.resize(static_cast<size_t>(pass.logit[k].size()));
    for (size_t i = 0; i < scores.size(); ++i)
      scores[i] = Sigmoid(pass.logit[k](static_cast<Eigen::Index>(i)));
  }
  return out;
}

}  // namespace

Result<GnnScores> Gnn::Predict(const NodeFeatures& nodes, const Adjacency& links) const {
  PFAD_RETURN_NOT_OK(CheckShapes(nodes, links));
  const Network net{params_, LayoutOf(params_), blocks_, mean_, std_};
  GnnPass pass;
  net.Forward(nodes, links, pass);
  return ScoresOf(pass);
}

Result<Gnn::Explained> Gnn::Explain(const NodeFeatures& nodes, const Adjacency& links) const {
  PFAD_RETURN_NOT_OK(CheckShapes(nodes, links));
  const Network net{params_, LayoutOf(params_), blocks_, mean_, std_};
  GnnPass pass;
  net.Forward(nodes, links, pass);
  Explained out{.scores = ScoresOf(pass)};
  for (int k = 0; k < kHeads; ++k) {
    Vec dlogit[kHeads];
    for (int h = 0; h < kHeads; ++h) dlogit[h] = Vec::Constant(pass.logit[h].size(), h == k ? 1.0 : 0.0);
    std::vector<Mat> grads = ZeroGradients(blocks_);
    std::array<Mat, kTypes> dx;
    net.Backward(links, pass, dlogit, grads, &dx);
    const Mat contributions = pass.x[k].cwiseProduct(dx[k]);
    (k == 0 ? out.user_attributions : out.session_attributions)
        .assign(contributions.data(), contributions.data() + contributions.size());
  }
  return out;
}

std::string Gnn::Serialize() const {
  nlohmann::json j = {{"architecture", ToString(params_.architecture)},
                      {"hidden", params_.hidden},
                      {"layers", params_.layers},
                      {"checksum", std::to_string(Checksum(blocks_, mean_, std_))}};
  for (int t = 0; t < kTypes; ++t) {
    j["input_mean"].push_back(mean_[t]);
    j["input_std"].push_back(std_[t]);
  }
  for (const auto& b : blocks_) j["blocks"].push_back({{"name", b.name}, {"values", b.values}});
  return std::string(kMagic) + j.dump();
}

Result<Gnn> Gnn::Deserialize(std::string_view bytes) {
  if (!bytes.starts_with(kMagic))
    return Status::Invalid("not a PFAD GNN (no '", kMagic.substr(0, kMagic.size() - 1), "')");
  bytes.remove_prefix(kMagic.size());
  const auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Invalid("corrupt GNN: not the expected JSON");
  Gnn gnn;
  try {
    const auto architecture = j.at("architecture").get<std::string>();
    if (architecture != "sage" && architecture != "hetero") {
      return Status::Invalid("corrupt GNN: unknown architecture '", architecture, "'");
    }
    gnn.params_.architecture = architecture == "sage" ? GnnArchitecture::kSage : GnnArchitecture::kHetero;
    gnn.params_.hidden = j.at("hidden").get<int>();
    gnn.params_.layers = j.at("layers").get<int>();
    if (gnn.params_.hidden < 2 || gnn.params_.hidden % 2 != 0 || gnn.params_.hidden > 4096 ||
        gnn.params_.layers < 1 || gnn.params_.layers > 64) {
      return Status::Invalid("corrupt GNN: hidden size ", gnn.params_.hidden, ", ", gnn.params_.layers,
                             " layers");
    }
    for (int t = 0; t < kTypes; ++t) {
      gnn.mean_[t] = j.at("input_mean").at(static_cast<size_t>(t)).get<std::vector<double>>();
      gnn.std_[t] = j.at("input_std").at(static_cast<size_t>(t)).get<std::vector<double>>();
      if (gnn.mean_[t].size() != InputWidth(t) || gnn.std_[t].size() != InputWidth(t)) {
        return Status::Invalid("corrupt GNN: the ", kTypeName[t], " standardisation has the wrong width");
      }
    }
    const auto& blocks = j.at("blocks");
    std::string problem;
    size_t next = 0;
    MakeLayout(gnn.params_, [&](const std::string& name, size_t rows, size_t cols) {
      if (!problem.empty()) return 0;
      if (next >= blocks.size()) {
        problem = "block " + name + " is missing";
        return 0;
      }
      Block b{blocks[next].at("name").get<std::string>(), rows, cols,
              blocks[next].at("values").get<std::vector<double>>()};
      if (b.name != name || b.values.size() != rows * cols) {
        problem = "block " + std::to_string(next) + " is '" + b.name + "' of " +
                  std::to_string(b.values.size()) + " values, expected '" + name + "' of " +
                  std::to_string(rows * cols);
      }
      gnn.blocks_.push_back(std::move(b));
      return static_cast<int>(next++);
    });
    if (problem.empty() && next != blocks.size()) problem = "extra blocks";
    if (!problem.empty()) return Status::Invalid("corrupt GNN: ", problem);
    if (j.at("checksum").get<std::string>() != std::to_string(Checksum(gnn.blocks_, gnn.mean_, gnn.std_))) {
      return Status::Invalid("corrupt GNN: its weights do not match their checksum");
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Invalid("corrupt GNN: ", e.what());
  }
  return gnn;
}

}  // namespace pfad::fraud
