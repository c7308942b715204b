// What both GNN architectures share (gnn_layers.h): the node type names, the
// aggregation kernels, and the factory that picks an architecture's layers.
#include "pfad/fraud/models/gnn_layers.h"

#include <algorithm>

namespace pfad::fraud::gnn_internal {

const char* Name(NodeType type) {
  switch (type) {
    case NodeType::kUser:
      return "user";
    case NodeType::kSession:
      return "session";
    case NodeType::kProduct:
      return "product";
  }
  return "node";
}

std::unique_ptr<GnnLayers> GnnLayers::Make(const GnnParams& params, const AddBlock& add) {
  switch (params.architecture) {
    case GnnArchitecture::kSage:
      return MakeSageLayers(params, add);
    case GnnArchitecture::kHetero:
      return MakeHeteroLayers(params, add);
  }
  return MakeHeteroLayers(params, add);
}

// Plain loops over rows of H doubles: the compiler vectorises them, Eigen's
// dynamic row views measured slower here.
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

}  // namespace pfad::fraud::gnn_internal
