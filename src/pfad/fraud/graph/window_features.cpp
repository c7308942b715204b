#include "pfad/fraud/graph/window_features.h"

#include <fmt/format.h>

#include <filesystem>

#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"

namespace pfad::fraud {

Result<MinuteWindow> OpenMinuteWindow(const storage::ObjectUri& source, const storage::StorageConfig& storage,
                                      int last_minutes) {
  MinuteWindow w;
  PFAD_ASSIGN_OR_RAISE(w.store, storage::ObjectStore::Open(source, storage));
  PFAD_ASSIGN_OR_RAISE(w.minutes, ListMinuteObjects(*w.store, source));
  if (w.minutes.empty())
    return Status::Invalid(source.ToString(), ": no minute objects (YYYY-MM-DD_HH-MM.parquet)");
  if (last_minutes > 0 && w.minutes.size() > static_cast<size_t>(last_minutes)) {
    w.minutes.erase(w.minutes.begin(), w.minutes.end() - last_minutes);
  }
  return w;
}

Result<WindowFeatureTables> ComputeWindowFeatures(const MinuteWindow& window, const Clock& clock) {
  const double started = clock.MonotonicSeconds();
  PFAD_ASSIGN_OR_RAISE(auto events, ReadWindow(*window.store, window.minutes));
  const double read = clock.MonotonicSeconds();
  const auto graph = BuildGraph(events);
  const auto features = WithNeighbours(ComputeNodeFeatures(events, graph), graph.edges);
  const double done = clock.MonotonicSeconds();
  WindowFeatureTables out;
  out.tables = {features.users, features.sessions};
  out.timing = FeatureTiming{
      .events = events.size(), .read_ms = (read - started) * 1000, .features_ms = (done - read) * 1000};
  return out;
}

Status WriteFeatureTables(const storage::ObjectUri& out, const storage::StorageConfig& storage,
                          const std::vector<FeatureTable>& tables,
                          const std::function<void(const WrittenFeatureTable&)>& written) {
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(out, storage));
  if (!out.is_s3()) std::filesystem::create_directories(out.FsPath());
  for (const auto& table : tables) {
    const auto uri = out.Child(fmt::format("{}_features.parquet", events::ToString(table.kind)));
    PFAD_RETURN_NOT_OK(WriteFeatureTable(*store, uri, SortedById(table)));
    if (written) written({.uri = uri, .rows = table.rows(), .cols = table.cols()});
  }
  return Status::OK();
}

}  // namespace pfad::fraud
