// The graph neural network of the fraud stage (docs/FRAUD.md section 7): a
// network over the window graph (users, sessions, products; the six relations
// of Adjacency) that learns its own neighbourhood features from the node
// features, with a logistic head for users and one for sessions.
//
// Inputs: the node features (NodeFeatures), each column transformed
// sign(x) * log1p(|x|) and standardised with the training graphs' mean and
// standard deviation (kept in the model). Two architectures:
//
// - kSage (GraphSAGE, mean aggregation): per-type input projection h0 = relu(x A_t + a_t)
//   to the hidden size H, then `layers` times h' = relu(h W_self + mean(all neighbours' h) W_neigh + b),
//   weights shared by all node types; the heads read the last layer.
// - kHetero (for heterophily): the same projection, then per layer and node type
//   an ego part relu(h W_self,t + b_self,t) and, kept apart from it (H2GCN), a
//   neighbour part relu(sum over the relations r into t of mean_r(h) W_mean,r
//   + max_r(h) W_max,r + b_neigh,t), each H/2 wide and concatenated; the heads
//   read the concatenation of h0 and every layer's output (jumping knowledge).
// Each architecture is one class behind GnnLayers (gnn_layers.h; gnn_sage.cpp,
// gnn_hetero.cpp); Train, Predict, Explain and the file format are shared.
//
// Training: full batch on each training graph, class-weighted binary cross
// entropy per kind (positive weight = negatives / positives), the kinds' mean
// losses summed, Adam with decoupled weight decay, seeded initialisation
// (events::Rng): the same inputs and seed give the same network, bit for bit.
// Computation in double precision with Eigen; at most two threads, never
// spinning (docs/FRAUD.md section 7 explains the choice).
#pragma once

#include "pfad/common/status.h"
#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_graph.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pfad::fraud {

enum class GnnArchitecture { kSage, kHetero };
std::string_view ToString(GnnArchitecture architecture);  // "sage", "hetero"
// The architecture named by ToString, or none.
std::optional<GnnArchitecture> ParseGnnArchitecture(std::string_view name);

struct GnnParams {
  GnnArchitecture architecture = GnnArchitecture::kHetero;
  int hidden = 16;  // H (even)
  int layers = 2;
  int epochs = 80;
  double learning_rate = 0.02;
  double weight_decay = 1e-4;  // decoupled (AdamW)
  uint64_t seed = 1;
};

// One graph to train on: its node features, its links, and per kind the labels
// (1 = fraud) of the rows that train (mask 1); the other rows only pass messages.
// Empty label vectors: that kind does not train.
struct GnnGraph {
  const NodeFeatures* nodes = nullptr;
  const Adjacency* links = nullptr;
  std::vector<uint8_t> user_labels, user_mask;
  std::vector<uint8_t> session_labels, session_mask;
};

// Fraud probabilities per row of nodes.users and nodes.sessions.
struct GnnScores {
  std::vector<double> users, sessions;
};

class Gnn {
 public:
  // Invalid when no kind has a training row of each class, or the graphs do
  // not match their features.
  static Result<Gnn> Train(std::span<const GnnGraph> graphs, const GnnParams& params);

  [[nodiscard]] Result<GnnScores> Predict(const NodeFeatures& nodes, const Adjacency& links) const;

  // Scores with, per row, gradient x input on its own standardised input
  // features (rows x 25, row-major), per kind: one forward pass, then one
  // backward pass per kind of the gradient of the kind's summed logits. A row's
  // own logit dominates its gradient, but the logits of the rows it sends
  // messages to add theirs: an approximation of the per-row gradient, exact
  // when rows do not interact (docs/FRAUD.md section 7).
  struct Explained {
    GnnScores scores;
    std::vector<double> user_attributions, session_attributions;
  };
  [[nodiscard]] Result<Explained> Explain(const NodeFeatures& nodes, const Adjacency& links) const;
  // The same for chosen rows only: after the forward pass, `choose` picks per
  // kind the rows to explain (a 0/1 mask over the kind's rows, from the scores);
  // the backward pass of a kind starts from those rows' logits alone, and is
  // skipped when none is chosen. Rows not chosen get zero attributions.
  using RowChooser = std::function<void(const GnnScores& scores, std::vector<uint8_t>& users,
                                        std::vector<uint8_t>& sessions)>;
  [[nodiscard]] Result<Explained> Explain(const NodeFeatures& nodes, const Adjacency& links,
                                          const RowChooser& choose) const;

  [[nodiscard]] std::string Serialize() const;
  static Result<Gnn> Deserialize(std::string_view bytes);

  [[nodiscard]] const GnnParams& params() const { return params_; }

  // For the gradient check: the parameter blocks (row-major matrices) and the
  // training loss over `graphs` with its gradient per block (no weight decay).
  struct Block {
    std::string name;
    size_t rows = 0, cols = 0;
    std::vector<double> values;
  };
  [[nodiscard]] std::vector<Block>& blocks() { return blocks_; }
  [[nodiscard]] Result<double> Loss(std::span<const GnnGraph> graphs,
                                    std::vector<std::vector<double>>* gradient) const;
  // An untrained network (seeded initialisation) with the given graphs' input
  // standardisation.
  static Result<Gnn> Initialise(std::span<const GnnGraph> graphs, const GnnParams& params);

 private:
  GnnParams params_;
  // Per input type (users, sessions, products): column mean and std after the log transform.
  std::vector<double> mean_[3], std_[3];
  std::vector<Block> blocks_;
};

}  // namespace pfad::fraud
