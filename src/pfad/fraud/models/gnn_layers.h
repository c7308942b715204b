// Inside the GNN of gnn.h (internal to the models library; gnn.h does not
// include it, so Eigen stays private): the numbers of one forward pass, and
// GnnLayers, the message-passing layers between the input projection and the
// heads. Each architecture is one GnnLayers class (SageLayers in gnn_sage.cpp,
// HeteroLayers in gnn_hetero.cpp), made by GnnLayers::Make; gnn.cpp holds
// what both share: the inputs, their projection, the heads, the loss,
// training and the file format.
//
// A class declares its parameter blocks in its constructor, through AddBlock,
// in the order the file format stores them (after the input projection's,
// before the heads'), so a saved network reads back into the same blocks.
#pragma once

// Eigen never starts threads of its own here (it would only with OpenMP):
// the fraud stage keeps to at most two threads of its own.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Dense>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pfad/fraud/graph/window_graph.h"
#include "pfad/fraud/models/gnn.h"

namespace pfad::fraud::gnn_internal {

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXd;
using ConstMap = Eigen::Map<const Mat>;

constexpr int kTypes = 3;  // users, sessions, products (NodeType)
constexpr int kHeads = 2;  // users, sessions (the scored kinds, the first node types)
constexpr int kRelations = 6;

constexpr std::array<NodeType, kTypes> kNodeTypes = {NodeType::kUser, NodeType::kSession, NodeType::kProduct};
// The node types with a head (the scored kinds), in head order.
constexpr std::array<NodeType, kHeads> kHeadTypes = {NodeType::kUser, NodeType::kSession};
// The index of a node type in the per-type arrays (and of its head, for users and sessions).
constexpr int Index(NodeType type) { return static_cast<int>(type); }
constexpr bool HasHead(NodeType type) { return Index(type) < kHeads; }
const char* Name(NodeType type);  // "user", "session", "product"

// Relation r carries messages from src nodes to dst nodes along links.*csr
// (the dst node's row lists its src neighbours).
struct Relation {
  NodeType dst, src;
  Csr Adjacency::* csr;
  const char* name;
};
inline constexpr Relation kRelation[kRelations] = {
    {NodeType::kUser, NodeType::kSession, &Adjacency::user_sessions, "user<-session"},
    {NodeType::kUser, NodeType::kProduct, &Adjacency::user_products, "user<-product"},
    {NodeType::kSession, NodeType::kUser, &Adjacency::session_users, "session<-user"},
    {NodeType::kSession, NodeType::kProduct, &Adjacency::session_products, "session<-product"},
    {NodeType::kProduct, NodeType::kUser, &Adjacency::product_users, "product<-user"},
    {NodeType::kProduct, NodeType::kSession, &Adjacency::product_sessions, "product<-session"}};

// Declares a parameter block (name, rows, cols) and returns its index in Gnn::blocks().
using AddBlock = std::function<int(const std::string& name, size_t rows, size_t cols)>;

// The parameter blocks of a network, read as row-major matrices.
class Weights {
 public:
  explicit Weights(const std::vector<Gnn::Block>& blocks) : blocks_(blocks) {}
  [[nodiscard]] ConstMap operator()(int block) const {
    const auto& b = blocks_[static_cast<size_t>(block)];
    return {b.values.data(), static_cast<Eigen::Index>(b.rows), static_cast<Eigen::Index>(b.cols)};
  }

 private:
  const std::vector<Gnn::Block>& blocks_;
};

// What an architecture's layers keep of a forward pass for the backward pass.
struct LayerCache {
  virtual ~LayerCache() = default;
};

// Per level (0 = the input projection, k = layer k's output) and node type.
using Levels = std::vector<std::array<Mat, kTypes>>;

// One forward pass over a graph, with what the backward pass needs.
struct Pass {
  std::array<Mat, kTypes> x;  // standardised inputs
  Levels h;                   // h[0] = projection, h[k] = layer k's output
  std::unique_ptr<LayerCache> cache;
  Vec logit[kHeads];
};

// The message-passing layers of one architecture and what its heads read.
class GnnLayers {
 public:
  virtual ~GnnLayers() = default;
  // The layers of params.architecture, their blocks declared through `add`.
  static std::unique_ptr<GnnLayers> Make(const GnnParams& params, const AddBlock& add);

  // The width of what a head reads (its weight block's rows).
  [[nodiscard]] virtual size_t HeadWidth() const = 0;
  // pass.h[1 .. layers] (and pass.cache) from pass.h[0].
  virtual void Forward(const Weights& w, const Adjacency& links, Pass& pass) const = 0;
  // logit += what head `head` reads times its weight column w.
  virtual void ReadOut(const Pass& pass, int head, const ConstMap& w, Vec& logit) const = 0;
  // The transpose of ReadOut: dw += read^T dlogit, dh (of the levels read) += dlogit w^T.
  virtual void ReadOutBackward(const Pass& pass, int head, const ConstMap& w, const Vec& dlogit, Mat& dw,
                               Levels& dh) const = 0;
  // Given dh[1 .. layers], accumulates the layers' block gradients into grads
  // and the gradient of h[0 .. layers - 1] into dh, last layer first.
  virtual void Backward(const Weights& w, const Adjacency& links, const Pass& pass, Levels& dh,
                        std::vector<Mat>& grads) const = 0;
};

std::unique_ptr<GnnLayers> MakeSageLayers(const GnnParams& params, const AddBlock& add);
std::unique_ptr<GnnLayers> MakeHeteroLayers(const GnnParams& params, const AddBlock& add);

// The kernels both architectures aggregate with.

// dst.row(i) += scale[i] * sum of src rows over csr.row(i).
void SumRows(const Csr& csr, const Mat& src, const std::vector<double>& scale, Mat& dst);
// The transpose of SumRows: dsrc.row(j) += scale[i] * ddst.row(i) for j in csr.row(i).
void ScatterRows(const Csr& csr, const Mat& ddst, const std::vector<double>& scale, Mat& dsrc);
// Elementwise max over each row's neighbours (0 without neighbours), with the winning src row.
void MaxRows(const Csr& csr, const Mat& src, Mat& dst, std::vector<int32_t>& arg);
// The transpose of MaxRows: each gradient entry goes to its winning src row.
void ScatterMax(const Mat& ddst, const std::vector<int32_t>& arg, Mat& dsrc);

inline Mat Relu(const Mat& z) { return z.cwiseMax(0.0); }
// The gradient through relu, given its output.
inline Mat ReluBack(const Mat& dout, const Mat& out) { return (out.array() > 0).select(dout, 0.0); }

}  // namespace pfad::fraud::gnn_internal
