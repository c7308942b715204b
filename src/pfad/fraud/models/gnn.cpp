// The GNN of gnn.h: what both architectures share (the inputs and their
// projection, the heads, the loss, training, the file format); the layers in
// between are the architecture's GnnLayers (gnn_layers.h).
#include "pfad/fraud/models/gnn.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "pfad/events/generator.h"
#include "pfad/fraud/models/gnn_layers.h"

namespace pfad::fraud {
namespace {

using gnn_internal::AddBlock;
using gnn_internal::ConstMap;
using gnn_internal::GnnLayers;
using gnn_internal::Index;
using gnn_internal::kHeads;
using gnn_internal::kHeadTypes;
using gnn_internal::kNodeTypes;
using gnn_internal::kRelation;
using gnn_internal::kTypes;
using gnn_internal::Levels;
using gnn_internal::Mat;
using gnn_internal::Name;
using gnn_internal::Pass;
using gnn_internal::Relation;
using gnn_internal::Relu;
using gnn_internal::ReluBack;
using gnn_internal::Vec;
using gnn_internal::Weights;

constexpr std::string_view kMagic = "PFAD-GNN 1\n";

size_t InputWidth(NodeType type) {
  return type == NodeType::kProduct ? ProductFeatureNames().size() : NodeFeatureNames().size();
}

// Where each parameter block lives in Gnn::blocks(): the input projection's
// and the heads' here, the layers' in the architecture's GnnLayers.
struct Layout {
  int in_w[kTypes], in_b[kTypes];
  std::unique_ptr<GnnLayers> layers;
  int head_w[kHeads], head_b[kHeads];
};

// The blocks' layout, in file order; `add(name, rows, cols)` returns the block index.
Layout MakeLayout(const GnnParams& p, const AddBlock& add) {
  Layout l;
  const auto h = static_cast<size_t>(p.hidden);
  for (const NodeType type : kNodeTypes) {
    const int t = Index(type);
    l.in_w[t] = add(std::string("input.") + Name(type) + ".w", InputWidth(type), h);
    l.in_b[t] = add(std::string("input.") + Name(type) + ".b", 1, h);
  }
  l.layers = GnnLayers::Make(p, add);
  for (const NodeType type : kHeadTypes) {
    const int k = Index(type);
    l.head_w[k] = add(std::string("head.") + Name(type) + ".w", l.layers->HeadWidth(), 1);
    l.head_b[k] = add(std::string("head.") + Name(type) + ".b", 1, 1);
  }
  return l;
}

Layout LayoutOf(const GnnParams& p) {
  int next = 0;
  return MakeLayout(p, [&](const std::string&, size_t, size_t) { return next++; });
}

double Signed(double x) { return std::copysign(std::log1p(std::abs(x)), x); }

// The raw input matrix of a node type (rows x columns, before the transform).
const double* RawInputs(const NodeFeatures& nodes, NodeType type, size_t& rows) {
  if (type == NodeType::kProduct) {
    rows = nodes.products.size() / ProductFeatureNames().size();
    return nodes.products.data();
  }
  const FeatureTable& t = type == NodeType::kUser ? nodes.users : nodes.sessions;
  rows = t.rows();
  return t.values.data();
}

size_t NodeCount(const NodeFeatures& nodes, NodeType type) {
  size_t rows = 0;
  RawInputs(nodes, type, rows);
  return rows;
}

Status CheckShapes(const NodeFeatures& nodes, const Adjacency& links) {
  for (const NodeType type : kHeadTypes) {
    const FeatureTable& table = type == NodeType::kUser ? nodes.users : nodes.sessions;
    if (table.rows() > 0 && table.cols() != InputWidth(type)) {
      return Status::Invalid("the GNN needs the ", InputWidth(type), " node features per ", Name(type),
                             ", got ", table.cols());
    }
  }
  if (nodes.products.size() % InputWidth(NodeType::kProduct) != 0)
    return Status::Invalid("the GNN's product features are cut off");
  for (const Relation& r : kRelation) {
    if ((links.*r.csr).rows() != NodeCount(nodes, r.dst)) {
      return Status::Invalid("the GNN's graph has ", (links.*r.csr).rows(), " ", Name(r.dst),
                             " rows, its features ", NodeCount(nodes, r.dst));
    }
  }
  return Status::OK();
}

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

// A network's parameters and standardisation, run over graphs.
struct Network {
  const GnnParams& p;
  const Layout layout;
  const Weights W;
  const std::vector<double>* mean;
  const std::vector<double>* std;

  Network(const GnnParams& params, const std::vector<Gnn::Block>& blocks, const std::vector<double>* mean,
          const std::vector<double>* std)
      : p(params), layout(LayoutOf(params)), W(blocks), mean(mean), std(std) {}

  // The one forward pass (training, Predict and Explain): the graph checked
  // against the network's inputs, then inputs, projection, layers, heads.
  [[nodiscard]] Result<Pass> Run(const NodeFeatures& nodes, const Adjacency& links) const {
    PFAD_RETURN_NOT_OK(CheckShapes(nodes, links));
    Pass pass;
    Forward(nodes, links, pass);
    return pass;
  }

  void Forward(const NodeFeatures& nodes, const Adjacency& links, Pass& pass) const {
    for (const NodeType type : kNodeTypes) {
      const int t = Index(type);
      size_t rows = 0;
      const double* raw = RawInputs(nodes, type, rows);
      const size_t cols = InputWidth(type);
      Mat& x = pass.x[t];
      x.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
      for (size_t r = 0; r < rows; ++r) {
        for (size_t c = 0; c < cols; ++c) {
          x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
              (Signed(raw[r * cols + c]) - mean[t][c]) / std[t][c];
        }
      }
    }
    pass.h.assign(static_cast<size_t>(p.layers + 1), {});
    for (int t = 0; t < kTypes; ++t) {
      pass.h[0][t] = Relu((pass.x[t] * W(layout.in_w[t])).rowwise() + W(layout.in_b[t]).row(0));
    }
    layout.layers->Forward(W, links, pass);
    for (int k = 0; k < kHeads; ++k) {
      Vec& logit = pass.logit[k];
      logit = Vec::Constant(pass.x[k].rows(), W(layout.head_b[k])(0, 0));
      layout.layers->ReadOut(pass, k, W(layout.head_w[k]), logit);
    }
  }

  // Accumulates into grads (one per block, shaped like it) the gradient of
  // sum_k dlogit[k] . logit[k]; when dx is given, also the inputs' gradient.
  void Backward(const Adjacency& links, const Pass& pass, const Vec (&dlogit)[kHeads],
                std::vector<Mat>& grads, std::array<Mat, kTypes>* dx) const {
    Levels dh(static_cast<size_t>(p.layers + 1));
    for (auto& level : dh) {
      for (int t = 0; t < kTypes; ++t) level[t].setZero(pass.h[0][t].rows(), p.hidden);
    }
    for (int k = 0; k < kHeads; ++k) {
      grads[static_cast<size_t>(layout.head_b[k])](0, 0) += dlogit[k].sum();
      layout.layers->ReadOutBackward(pass, k, W(layout.head_w[k]), dlogit[k],
                                     grads[static_cast<size_t>(layout.head_w[k])], dh);
    }
    layout.layers->Backward(W, links, pass, dh, grads);
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

const std::vector<uint8_t>& Labels(const GnnGraph& g, NodeType kind) {
  return kind == NodeType::kUser ? g.user_labels : g.session_labels;
}
const std::vector<uint8_t>& Mask(const GnnGraph& g, NodeType kind) {
  return kind == NodeType::kUser ? g.user_mask : g.session_mask;
}

// Per kind: the weight of a positive and the sum of all training weights.
struct ClassWeights {
  double positive[kHeads] = {1, 1};
  double total[kHeads] = {0, 0};
};

Result<ClassWeights> Weigh(std::span<const GnnGraph> graphs) {
  ClassWeights w;
  bool any = false;
  for (const NodeType kind : kHeadTypes) {
    const int k = Index(kind);
    double pos = 0, neg = 0;
    for (const auto& g : graphs) {
      const auto& y = Labels(g, kind);
      const auto& m = Mask(g, kind);
      if (y.empty()) continue;
      const size_t n = NodeCount(*g.nodes, kind);
      if (y.size() != n || m.size() != n) {
        return Status::Invalid("the GNN's ", Name(kind), " labels and mask need one entry per ", Name(kind),
                               " (", n, "), got ", y.size(), " and ", m.size());
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
  switch (architecture) {
    case GnnArchitecture::kSage:
      return "sage";
    case GnnArchitecture::kHetero:
      return "hetero";
  }
  return "hetero";
}

std::optional<GnnArchitecture> ParseGnnArchitecture(std::string_view name) {
  for (const GnnArchitecture architecture : {GnnArchitecture::kSage, GnnArchitecture::kHetero}) {
    if (ToString(architecture) == name) return architecture;
  }
  return std::nullopt;
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
  for (const NodeType type : kNodeTypes) {
    const int t = Index(type);
    const size_t cols = InputWidth(type);
    std::vector<double> sum(cols, 0.0), squares(cols, 0.0);
    double n = 0;
    for (const auto& g : graphs) {
      size_t rows = 0;
      const double* raw = RawInputs(*g.nodes, type, rows);
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
      const double* raw = RawInputs(*g.nodes, type, rows);
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
  const Network net(params_, blocks_, mean_, std_);
  std::vector<Mat> grads = ZeroGradients(blocks_);
  double loss = 0;
  for (const auto& g : graphs) {
    PFAD_ASSIGN_OR_RAISE(const Pass pass, net.Run(*g.nodes, *g.links));
    Vec dlogit[kHeads];
    for (const NodeType kind : kHeadTypes) {
      const int k = Index(kind);
      dlogit[k] = Vec::Zero(pass.logit[k].size());
      if (weights.total[k] == 0 || Labels(g, kind).empty()) continue;
      const auto& y = Labels(g, kind);
      const auto& m = Mask(g, kind);
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
GnnScores ScoresOf(const Pass& pass) {
  GnnScores out;
  for (const NodeType kind : kHeadTypes) {
    const int k = Index(kind);
    auto& scores = kind == NodeType::kUser ? out.users : out.sessions;
    scores.resize(static_cast<size_t>(pass.logit[k].size()));
    for (size_t i = 0; i < scores.size(); ++i)
      scores[i] = Sigmoid(pass.logit[k](static_cast<Eigen::Index>(i)));
  }
  return out;
}

}  // namespace

Result<GnnScores> Gnn::Predict(const NodeFeatures& nodes, const Adjacency& links) const {
  const Network net(params_, blocks_, mean_, std_);
  PFAD_ASSIGN_OR_RAISE(const Pass pass, net.Run(nodes, links));
  return ScoresOf(pass);
}

Result<Gnn::Explained> Gnn::Explain(const NodeFeatures& nodes, const Adjacency& links) const {
  return Explain(nodes, links,
                 [](const GnnScores& scores, std::vector<uint8_t>& users, std::vector<uint8_t>& sessions) {
                   users.assign(scores.users.size(), 1);
                   sessions.assign(scores.sessions.size(), 1);
                 });
}

Result<Gnn::Explained> Gnn::Explain(const NodeFeatures& nodes, const Adjacency& links,
                                    const RowChooser& choose) const {
  const Network net(params_, blocks_, mean_, std_);
  PFAD_ASSIGN_OR_RAISE(const Pass pass, net.Run(nodes, links));
  Explained out{.scores = ScoresOf(pass)};
  std::vector<uint8_t> chosen[2];
  choose(out.scores, chosen[0], chosen[1]);
  for (const NodeType kind : kHeadTypes) {
    const int k = Index(kind);
    auto& attributions = kind == NodeType::kUser ? out.user_attributions : out.session_attributions;
    const auto& mask = chosen[kind == NodeType::kUser ? 0 : 1];
    const auto rows = pass.logit[k].size();
    if (std::find(mask.begin(), mask.end(), 1) == mask.end()) {
      attributions.assign(static_cast<size_t>(pass.x[k].size()), 0.0);
      continue;
    }
    Vec dlogit[kHeads];
    for (int h = 0; h < kHeads; ++h) dlogit[h] = Vec::Zero(pass.logit[h].size());
    for (Eigen::Index r = 0; r < rows && static_cast<size_t>(r) < mask.size(); ++r) {
      dlogit[k](r) = mask[static_cast<size_t>(r)] ? 1.0 : 0.0;
    }
    std::vector<Mat> grads = ZeroGradients(blocks_);
    std::array<Mat, kTypes> dx;
    net.Backward(links, pass, dlogit, grads, &dx);
    const Mat contributions = pass.x[k].cwiseProduct(dx[k]);
    attributions.assign(contributions.data(), contributions.data() + contributions.size());
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
    const auto architecture = ParseGnnArchitecture(j.at("architecture").get<std::string>());
    if (!architecture) {
      return Status::Invalid("corrupt GNN: unknown architecture '", j.at("architecture").get<std::string>(),
                             "'");
    }
    gnn.params_.architecture = *architecture;
    gnn.params_.hidden = j.at("hidden").get<int>();
    gnn.params_.layers = j.at("layers").get<int>();
    if (gnn.params_.hidden < 2 || gnn.params_.hidden % 2 != 0 || gnn.params_.hidden > 4096 ||
        gnn.params_.layers < 1 || gnn.params_.layers > 64) {
      return Status::Invalid("corrupt GNN: hidden size ", gnn.params_.hidden, ", ", gnn.params_.layers,
                             " layers");
    }
    for (const NodeType type : kNodeTypes) {
      const int t = Index(type);
      gnn.mean_[t] = j.at("input_mean").at(static_cast<size_t>(t)).get<std::vector<double>>();
      gnn.std_[t] = j.at("input_std").at(static_cast<size_t>(t)).get<std::vector<double>>();
      if (gnn.mean_[t].size() != InputWidth(type) || gnn.std_[t].size() != InputWidth(type)) {
        return Status::Invalid("corrupt GNN: the ", Name(type), " standardisation has the wrong width");
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
