#include "pfad/fraud/live/live_scorer.h"

#include "pfad/fraud/live/investigation.h"

#include <arrow/api.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "pfad/common/log.h"
#include "pfad/events/labels.h"
#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_events.h"

namespace pfad::fraud {
namespace {

constexpr int kHistogramBins = 10;

std::string MinuteOf(const storage::ObjectUri& minute_object) { return MinuteStem(minute_object); }

// "YYYY-MM-DD_HH-MM" <-> minutes since 1970-01-01 00:00 of the same wall clock.
// Asia/Tehran has kept one offset since 2022, so wall-clock minutes are minutes.
std::optional<int64_t> MinuteIndex(std::string_view name) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  if (name.size() != 16 ||
      std::sscanf(std::string(name).c_str(), "%4d-%2d-%2d_%2d-%2d", &y, &mo, &d, &h, &mi) != 5) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count() * int64_t{1440} + h * 60 + mi;
}

std::string MinuteName(int64_t index) {
  const auto days = static_cast<int>(index >= 0 ? index / 1440 : (index - 1439) / 1440);
  const int64_t in_day = index - int64_t{days} * 1440;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return fmt::format("{:04d}-{:02d}-{:02d}_{:02d}-{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), in_day / 60,
                     in_day % 60);
}

// Line 1 of a snapshot; the format's version is in it.
constexpr std::string_view kSnapshotMagic = "PFAD-FRAUD-SNAPSHOT 1\n";

std::vector<storage::ObjectUri> UrisOf(const std::vector<WindowObject>& objects) {
  std::vector<storage::ObjectUri> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(o.uri);
  return out;
}

}  // namespace

ModelSummary ModelSummary::Of(const FraudModel& model) {
  ModelSummary m;
  m.label = model.Label();
  for (const auto& part : model.parts) m.threshold[static_cast<size_t>(part.kind)] = part.threshold;
  return m;
}

const SettingsTable<FraudConfig>& FraudConfig::Settings() {
  static const SettingsTable<FraudConfig> table({
      {"fraud.model",
       &FraudConfig::model,
       {.env = {"PFAD_FRAUD_MODEL"}, .description = "model file for live scoring; empty = no scoring"}},
      {"fraud.alerts_topic",
       &FraudConfig::alerts_topic,
       {.env = {"PFAD_FRAUD_ALERTS_TOPIC"}, .description = "topic of the alerts; empty = no alerts"}},
      {"fraud.bootstrap",
       &FraudConfig::bootstrap,
       {.env = {"PFAD_KAFKA_BOOTSTRAP"}, .description = "Kafka bootstrap servers, for the alerts"}},
      {"fraud.top", &FraudConfig::top, {.description = "entities in the report's top list", .min = 0}},
      {"fraud.max_window_events",
       &FraudConfig::max_window_events,
       {.env = {"PFAD_FRAUD_MAX_WINDOW_EVENTS"},
        .description = "events the live window may hold before scoring stops with a reason; 0 = sized "
                       "from the memory",
        .min = 0}},
      {"fraud.investigations",
       &FraudConfig::investigations,
       {.env = {"PFAD_FRAUD_INVESTIGATIONS"},
        .description = "entity views (why, events, neighbourhood) per minute in the report; 0 = none",
        .min = 0}},
  });
  return table;
}

Result<FraudConfig> FraudConfig::Resolve(const ConfigFile& file) { return Settings().Resolve(file); }

std::string AlertToJson(const Alert& alert) {
  nlohmann::ordered_json j;
  j["entity_kind"] = std::string(events::ToString(alert.kind));
  j["entity_id"] = alert.entity_id;
  j["fraud_score"] = alert.fraud_score;
  j["threshold"] = alert.threshold;
  j["model"] = alert.model;
  j["minute"] = alert.minute;
  j["top_features"] = alert.top_features;
  return j.dump();
}

std::vector<int64_t> ScoreHistogram(const std::vector<EntityScore>& scores, events::EntityKind kind,
                                    int bins) {
  std::vector<int64_t> counts(static_cast<size_t>(std::max(bins, 1)), 0);
  const int last = static_cast<int>(counts.size()) - 1;
  for (const auto& s : scores) {
    if (s.kind != kind) continue;
    const double x = std::isnan(s.fraud_score) ? 0.0 : std::clamp(s.fraud_score, 0.0, 1.0);
    ++counts[static_cast<size_t>(std::min(last, static_cast<int>(x * static_cast<double>(counts.size()))))];
  }
  return counts;
}

analyze::FraudSection NotRunSection(std::string reason) {
  analyze::FraudSection f;
  f.reason = std::move(reason);
  return f;
}

analyze::FraudSection BuildScoredSection(const ModelSummary& model, const WindowSummary& window,
                                         const std::vector<EntityScore>& scores, int top) {
  analyze::FraudSection f;
  f.state = analyze::FraudSection::State::kScored;
  f.model = model.label;
  f.window.minutes = window.minutes;
  f.window.objects = static_cast<int>(window.objects.size());
  f.window.events = window.events;
  if (!window.objects.empty()) {
    f.window.first = window.objects.front();
    f.window.last = window.objects.back();
  }
  for (const auto kind : {events::EntityKind::kUser, events::EntityKind::kSession}) {
    const auto k = static_cast<size_t>(kind);
    f.threshold[k] = model.threshold[k];
    f.histogram[k] = ScoreHistogram(scores, kind, kHistogramBins);
  }
  std::vector<const EntityScore*> order;
  order.reserve(scores.size());
  for (const auto& s : scores) {
    const auto k = static_cast<size_t>(s.kind);
    ++f.scored[k];
    f.flagged[k] += s.is_fraud;
    order.push_back(&s);
  }
  const size_t n = std::min(order.size(), static_cast<size_t>(std::max(top, 0)));
  // Descending score; ties by kind then id, so the list is the same every time.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [](const EntityScore* a, const EntityScore* b) {
                      if (a->fraud_score != b->fraud_score) return a->fraud_score > b->fraud_score;
                      if (a->kind != b->kind) return a->kind < b->kind;
                      return a->entity_id < b->entity_id;
                    });
  for (size_t i = 0; i < n; ++i) {
    const EntityScore& s = *order[i];
    f.top.push_back(
        {std::string(events::ToString(s.kind)), s.entity_id, s.fraud_score, s.is_fraud, s.top_features});
  }
  return f;
}

std::vector<Alert> SelectNewAlerts(const ModelSummary& model, const std::string& minute,
                                   const std::vector<EntityScore>& scores,
                                   const std::set<EntityKey>& already) {
  std::vector<Alert> out;
  for (const auto& s : scores) {
    if (!s.is_fraud || already.contains({s.kind, s.entity_id})) continue;
    out.push_back({s.kind, s.entity_id, s.fraud_score, model.threshold[static_cast<size_t>(s.kind)],
                   model.label, minute, s.top_features});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Alert& a, const Alert& b) { return a.fraud_score > b.fraud_score; });
  return out;
}

Result<std::set<EntityKey>> ReadFlagged(const storage::ObjectStore& store,
                                        const storage::ObjectUri& scores_object) {
  std::set<EntityKey> out;
  PFAD_ASSIGN_OR_RAISE(auto info, store.Stat(scores_object));
  if (!info.exists) return out;
  PFAD_ASSIGN_OR_RAISE(auto file, store.OpenForRead(scores_object));
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
  if (!reader.ok()) {
    return Status::Invalid(scores_object.ToString(), ": not readable Parquet: ", reader.status().message());
  }
  // Only the three columns "once" needs (top_features is most of the bytes).
  std::shared_ptr<arrow::Schema> schema;
  PFAD_RETURN_NOT_OK((*reader)->GetSchema(&schema));
  std::vector<int> columns;
  for (const char* name : {"entity_kind", "entity_id", "is_fraud"}) {
    const int i = schema->GetFieldIndex(name);
    if (i < 0)
      return Status::Invalid(scores_object.ToString(), ": not a scores object (no column ", name, ")");
    columns.push_back(i);
  }
  std::shared_ptr<arrow::Table> table;
  PFAD_ASSIGN_OR_RAISE(table, (*reader)->ReadTable(columns));
  PFAD_ASSIGN_OR_RAISE(table, table->CombineChunks());
  const auto kind = std::dynamic_pointer_cast<arrow::StringArray>(
      table->GetColumnByName("entity_kind") ? table->GetColumnByName("entity_kind")->chunk(0) : nullptr);
  const auto id = std::dynamic_pointer_cast<arrow::StringArray>(
      table->GetColumnByName("entity_id") ? table->GetColumnByName("entity_id")->chunk(0) : nullptr);
  const auto flagged = std::dynamic_pointer_cast<arrow::BooleanArray>(
      table->GetColumnByName("is_fraud") ? table->GetColumnByName("is_fraud")->chunk(0) : nullptr);
  if (table->num_rows() == 0) return out;
  if (!kind || !id || !flagged) {
    return Status::Invalid(
        scores_object.ToString(),
        ": not a scores object (expected string entity_kind, entity_id and boolean is_fraud)");
  }
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    if (!flagged->Value(i)) continue;
    const auto k = events::ParseEntityKind(kind->GetView(i));
    if (!k)
      return Status::Invalid(scores_object.ToString(), ": unknown entity_kind '", kind->GetView(i), "'");
    out.emplace(*k, std::string(id->GetView(i)));
  }
  return out;
}

Result<FraudModel> LoadModel(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::IOError("fraud model ", path, ": no such file (train one with `pfad fraud train`)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("fraud model ", path, ": cannot read the file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto model = FraudModel::Parse(bytes);
  if (!model.ok()) {
    const std::string why = model.status().message();
    return Status::Invalid("fraud model ", path, ": ",
                           why.find("corrupt") == std::string::npos ? "corrupt: " : "", why);
  }
  return model;
}

Result<std::vector<WindowObject>> WindowObjectsEndingWith(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& minute,
                                                          int window_minutes) {
  const std::string name = MinuteOf(minute);
  const auto last = MinuteIndex(name);
  if (!last || !IsMinuteObjectName(minute.Basename())) {
    return Status::Invalid(minute.ToString(), ": not a minute object (YYYY-MM-DD_HH-MM.parquet)");
  }
  std::vector<WindowObject> out;
  for (int64_t i = *last - std::max(window_minutes, 1) + 1; i <= *last; ++i) {
    auto uri = minute.Sibling(MinuteName(i) + std::string(events::kObjectSuffix));
    PFAD_ASSIGN_OR_RAISE(auto info, store.Stat(uri));
    if (!info.exists) continue;
    out.push_back({std::move(uri), MinuteName(i), i, fmt::format("{}:{}", info.size, info.mtime_ns)});
  }
  return out;
}

Result<std::vector<storage::ObjectUri>> WindowEndingWith(const storage::ObjectStore& store,
                                                         const storage::ObjectUri& minute,
                                                         int window_minutes) {
  PFAD_ASSIGN_OR_RAISE(const auto objects, WindowObjectsEndingWith(store, minute, window_minutes));
  return UrisOf(objects);
}

int64_t DefaultMaxWindowEvents() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const int64_t memory = pages > 0 && page > 0 ? int64_t{pages} * page : int64_t{8} << 30;
  return memory / 4 / 160;
}

LiveScorer::LiveScorer(FraudConfig config, AlertSink alerts)
    : config_(std::move(config)), alerts_(std::move(alerts)) {}

Result<std::shared_ptr<const FraudModel>> LiveScorer::Model() {
  std::lock_guard lock(model_mutex_);
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(config_.model, ec);
  if (model_ && !ec && time == model_time_) return model_;
  PFAD_ASSIGN_OR_RAISE(auto model, LoadModel(config_.model));
  model_ = std::make_shared<const FraudModel>(std::move(model));
  model_time_ = time;
  Logger("fraud")->info("fraud model loaded: path={} model=\"{}\" window_minutes={}", config_.model,
                        model_->Label(), model_->window_minutes);
  return model_;
}

std::set<EntityKey> LiveScorer::FlaggedBefore(const storage::ObjectStore& store,
                                              const storage::ObjectUri& minute,
                                              const std::vector<WindowObject>& objects) {
  // Flagged before: in the scores objects of this window's minutes (this minute's own
  // too: a run again, after late events or from another run state, finds the
  // object its earlier run wrote once its alerts were acknowledged). Each minute's
  // set is read from its object once, then kept (and kept up to date as this
  // scorer writes scores objects).
  std::set<EntityKey> already;
  std::set<std::string> keep;
  for (const auto& o : objects) {
    if (o.uri.Basename() > minute.Basename()) continue;
    keep.insert(o.name);
    auto cached = flagged_.find(o.name);
    if (cached == flagged_.end()) {
      auto flagged = ReadFlagged(store, BesideMinute(o.uri, events::kScoresSuffix));
      if (!flagged.ok()) {
        // A bad earlier scores object must not stop this minute: worst case, repeated alerts.
        Logger("fraud")->warn("previous scores unreadable, its entities may be alerted again: {}",
                              flagged.status().message());
        continue;
      }
      cached = flagged_.emplace(o.name, std::move(*flagged)).first;
    }
    already.insert(cached->second.begin(), cached->second.end());
  }
  std::erase_if(flagged_, [&](const auto& entry) { return !keep.contains(entry.first); });
  return already;
}

void LiveScorer::LoadSnapshot(const storage::ObjectStore& store, const storage::ObjectUri& minute,
                              Timing& timing) {
  // The snapshot the previous minute's process left (or this minute's own, on a re-run).
  const auto index = MinuteIndex(MinuteOf(minute));
  if (!index) return;
  const double from = DefaultClock().MonotonicSeconds();
  for (const int64_t m : {*index - 1, *index}) {
    const auto uri = minute.Sibling(MinuteName(m) + std::string(kStateSuffix));
    auto info = store.Stat(uri);
    if (!info.ok() || !info->exists) continue;
    auto bytes = store.Get(uri);
    if (!bytes.ok()) {
      Logger("fraud")->warn("fraud state snapshot {} unreadable, building the window from its objects: {}",
                            uri.ToString(), bytes.status().message());
      return;
    }
    // Line 1: magic; line 2: JSON header (flagged entities per minute); then the window.
    std::string_view rest(*bytes);
    const auto bad = [&](std::string_view why) {
      Logger("fraud")->warn("fraud state snapshot {} unusable, building the window from its objects: {}",
                            uri.ToString(), why);
    };
    if (!rest.starts_with(kSnapshotMagic)) return bad("not a snapshot of this version");
    rest.remove_prefix(kSnapshotMagic.size());
    const size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) return bad("cut off");
    std::map<std::string, std::set<EntityKey>> flagged;
    try {
      const auto header = nlohmann::json::parse(rest.substr(0, eol));
      for (const auto& [name, entities] : header.at("flagged").items()) {
        auto& set = flagged[name];
        for (const auto& e : entities) {
          const auto kind = events::ParseEntityKind(e.at(0).get<std::string>());
          if (!kind) return bad("unknown entity kind");
          set.emplace(*kind, e.at(1).get<std::string>());
        }
      }
    } catch (const std::exception& e) {
      return bad(e.what());
    }
    auto window = SlicedWindow::Parse(rest.substr(eol + 1));
    if (!window.ok()) return bad(window.status().message());
    window_ = std::move(*window);
    flagged_ = std::move(flagged);
    timing.snapshot_bytes = static_cast<int64_t>(bytes->size());
    timing.snapshot_ms += (DefaultClock().MonotonicSeconds() - from) * 1000;
    Logger("fraud")->info("fraud state loaded: snapshot={} minutes={} bytes={} ms={:.0f}", uri.ToString(),
                          window_.Minutes().size(), bytes->size(), timing.snapshot_ms);
    return;
  }
  Logger("fraud")->info("no fraud state snapshot before minute {}: building the window from its objects",
                        MinuteOf(minute));
}

Status LiveScorer::SaveSnapshot(const storage::ObjectStore& store, const storage::ObjectUri& minute,
                                const std::vector<WindowObject>& objects, Timing& timing) {
  const double from = DefaultClock().MonotonicSeconds();
  nlohmann::json header;
  header["minute"] = MinuteOf(minute);
  header["objects"] = nlohmann::json::array();
  for (const auto& o : objects) header["objects"].push_back({{"name", o.name}, {"version", o.version}});
  header["flagged"] = nlohmann::json::object();
  for (const auto& [name, entities] : flagged_) {
    auto& list = header["flagged"][name];
    list = nlohmann::json::array();
    for (const auto& [kind, id] : entities) list.push_back({std::string(events::ToString(kind)), id});
  }
  std::string bytes = std::string(kSnapshotMagic) + header.dump() + "\n" + window_.Serialize();
  const auto uri = BesideMinute(minute, kStateSuffix);
  PFAD_RETURN_NOT_OK(store.Put(uri, bytes));
  // The snapshot two minutes back is no longer needed (the previous one stays for
  // a run of the previous minute that may still be going).
  if (const auto index = MinuteIndex(MinuteOf(minute))) {
    const auto old = minute.Sibling(MinuteName(*index - 2) + std::string(kStateSuffix));
    if (auto info = store.Stat(old); info.ok() && info->exists) (void)store.Delete(old);
  }
  timing.snapshot_bytes = static_cast<int64_t>(bytes.size());
  timing.snapshot_ms += (DefaultClock().MonotonicSeconds() - from) * 1000;
  return Status::OK();
}

Result<LiveScorer::Scored> LiveScorer::ScoreFull(const FraudModel& model, const storage::ObjectStore& store,
                                                 const std::vector<WindowObject>& objects, const Clock& clock,
                                                 Timing& timing) {
  const double read_from = clock.MonotonicSeconds();
  PFAD_ASSIGN_OR_RAISE(auto read, ReadWindow(store, UrisOf(objects)));
  const double score_from = clock.MonotonicSeconds();
  auto events = std::make_shared<const WindowEvents>(std::move(read));
  auto graph = BuildGraph(*events);
  auto nodes = std::make_shared<const NodeFeatures>(ComputeNodeFeatures(*events, graph));
  auto links = std::make_shared<const Adjacency>(std::move(graph.edges));
  PFAD_ASSIGN_OR_RAISE(auto scores, ScoreGraph(model, *nodes, *links, config_.top));
  timing.read_ms = (score_from - read_from) * 1000;
  timing.score_ms = (clock.MonotonicSeconds() - score_from) * 1000;
  const int64_t n = static_cast<int64_t>(events->size());
  auto product_id = [events](uint32_t p) { return std::to_string(events->product_ids[p]); };
  return Scored{std::move(scores),    n, std::move(nodes), std::move(links), std::move(events),
                std::move(product_id)};
}

Result<LiveScorer::Scored> LiveScorer::ScoreFeatures(const FraudModel& model,
                                                     const std::vector<WindowObject>& objects,
                                                     const Clock& clock, Timing& timing) {
  const double from = clock.MonotonicSeconds();
  PFAD_ASSIGN_OR_RAISE(const auto features, config_.features(UrisOf(objects)));
  const double score_from = clock.MonotonicSeconds();
  PFAD_ASSIGN_OR_RAISE(auto scores, fraud::ScoreFeatures(model, features, config_.top));
  timing.read_ms = (score_from - from) * 1000;  // the engine reads and computes the features
  timing.score_ms = (clock.MonotonicSeconds() - score_from) * 1000;
  // Every event has a user: the window's events are its users' n_events.
  int64_t events = 0;
  const int n_events = features.users.Column("n_events");
  for (size_t r = 0; n_events >= 0 && r < features.users.rows(); ++r) {
    events += static_cast<int64_t>(std::llround(features.users.at(r, n_events)));
  }
  return Scored{std::move(scores), events};
}

Result<LiveScorer::Scored> LiveScorer::ScoreLive(const FraudModel& model, const storage::ObjectStore& store,
                                                 const storage::ObjectUri& minute,
                                                 const std::vector<WindowObject>& objects, const Clock& clock,
                                                 Timing& timing) {
  timing.live = true;
  const auto last = MinuteIndex(MinuteOf(minute)).value_or(0);
  const int64_t first = last - std::max(model.window_minutes, 1) + 1;
  // Slices outside the window leave (those of later minutes stay for a while: a
  // re-run of an earlier minute, after late data, is followed by the later ones).
  const double evict_from = clock.MonotonicSeconds();
  for (const int64_t m : window_.Minutes()) {
    if (m < first || m > last + model.window_minutes) window_.Remove(m);
  }
  std::set<int64_t> present;
  for (const auto& o : objects) present.insert(o.index);
  for (const int64_t m : window_.Minutes()) {
    if (m >= first && m <= last && !present.contains(m)) window_.Remove(m);  // the object went away
  }
  timing.evict_ms = (clock.MonotonicSeconds() - evict_from) * 1000;
  // New minutes and rewritten ones (another version: late data) are read into slices.
  std::vector<int64_t> minutes;
  std::shared_ptr<const WindowEvents> newest;  // the events of the scored minute, when read now
  for (const auto& o : objects) {
    minutes.push_back(o.index);
    const MinuteSlice* held = window_.Find(o.index);
    if (held != nullptr && held->version == o.version) continue;
    const double read_from = clock.MonotonicSeconds();
    PFAD_ASSIGN_OR_RAISE(auto read, ReadWindow(store, {o.uri}));
    auto shared = std::make_shared<const WindowEvents>(std::move(read));
    const WindowEvents& events = *shared;
    if (o.index == last) newest = shared;
    const double slice_from = clock.MonotonicSeconds();
    if (held != nullptr) {
      Logger("fraud")->info("minute {} changed ({} -> {}): its slice is replaced", o.name, held->version,
                            o.version);
    }
    window_.Add(o.index, o.name, o.version, events);
    timing.read_ms += (slice_from - read_from) * 1000;
    timing.slice_ms += (clock.MonotonicSeconds() - slice_from) * 1000;
    ++timing.slices_read;
  }
  int64_t events = 0;
  for (const int64_t m : minutes) events += window_.Find(m)->events;
  const int64_t bound = config_.max_window_events > 0 ? config_.max_window_events : DefaultMaxWindowEvents();
  if (events > bound) {
    window_ = SlicedWindow();  // free it: the next minute starts again from the objects
    return Status::CapacityError("the window ending ", MinuteOf(minute), " holds ", events,
                                 " events, more than [fraud] max_window_events = ", bound,
                                 " (PFAD_FRAUD_MAX_WINDOW_EVENTS); score at this rate with the Spark engine "
                                 "(docs/FRAUD.md section 8)");
  }
  const double combine_from = clock.MonotonicSeconds();
  auto combined = window_.Combine(minutes, /*product_links=*/model.IsGnn());
  if (!combined.ok()) {
    Logger("fraud")->warn(
        "the live window of minute {} cannot be combined ({}); rebuilding it from the objects",
        MinuteOf(minute), combined.status().message());
    return ScoreFull(model, store, objects, clock, timing);
  }
  const double model_from = clock.MonotonicSeconds();
  PFAD_ASSIGN_OR_RAISE(auto scores, ScoreGraph(model, combined->nodes, combined->links, config_.top));
  timing.combine_ms = (model_from - combine_from) * 1000;
  timing.model_ms = (clock.MonotonicSeconds() - model_from) * 1000;
  timing.score_ms = timing.evict_ms + timing.slice_ms + timing.combine_ms + timing.model_ms;
  timing.multi_slice_entities = combined->multi_slice_users + combined->multi_slice_sessions;
  timing.state_bytes = static_cast<int64_t>(window_.Bytes());
  const int64_t n = combined->events;
  auto nodes = std::make_shared<const NodeFeatures>(std::move(combined->nodes));
  auto links = std::make_shared<const Adjacency>(std::move(combined->links));
  // Called under the window lock, before the next minute changes the window.
  auto product_id = [this](uint32_t p) { return window_.ProductId(p); };
  return Scored{std::move(scores),    n, std::move(nodes), std::move(links), std::move(newest),
                std::move(product_id)};
}

Result<analyze::FraudSection> LiveScorer::ScoreMinute(const storage::ObjectStore& store,
                                                      const storage::ObjectUri& minute, const Clock& clock,
                                                      Timing* timing_out) {
  const double start = clock.MonotonicSeconds();
  const std::string name = MinuteOf(minute);
  const auto elapsed_ms = [&] {
    return static_cast<int64_t>(std::llround((clock.MonotonicSeconds() - start) * 1000));
  };
  const auto not_run = [&](std::string reason) {
    Logger("fraud")->error("fraud scoring did not run: minute={} reason=\"{}\"", name, reason);
    auto section = NotRunSection(std::move(reason));
    section.scoring_ms = elapsed_ms();
    return section;
  };
  if (config_.model.empty()) {
    return not_run("no fraud model configured ([fraud] model or PFAD_FRAUD_MODEL)");
  }
  auto model = Model();
  if (!model.ok()) return not_run(model.status().message());
  const FraudModel& m = **model;
  const ModelSummary summary = ModelSummary::Of(m);

  // One minute at a time through the window (runs of consecutive minutes may overlap).
  std::lock_guard window_lock(window_mutex_);
  Timing timing;
  auto objects = WindowObjectsEndingWith(store, minute, m.window_minutes);
  if (!objects.ok()) return not_run("window ending " + name + ": " + objects.status().message());
  if (Snapshotting() && !snapshot_tried_) {
    snapshot_tried_ = true;
    LoadSnapshot(store, minute, timing);
  }
  auto scored = config_.features ? ScoreFeatures(m, *objects, clock, timing)
                : config_.full   ? ScoreFull(m, store, *objects, clock, timing)
                                 : ScoreLive(m, store, minute, *objects, clock, timing);
  if (!scored.ok()) {
    return not_run(scored.status().IsCapacityError()
                       ? scored.status().message()
                       : "window ending " + name + ": " + scored.status().message());
  }
  const auto& scores = scored->scores;
  timing.events = scored->events;
  const double write_from = clock.MonotonicSeconds();

  WindowSummary window{m.window_minutes, {}, scored->events};
  for (const auto& o : *objects) window.objects.push_back(o.name);
  auto section = BuildScoredSection(summary, window, scores, config_.top);

  std::set<EntityKey> already = FlaggedBefore(store, minute, *objects);
  {
    std::lock_guard lock(alerted_mutex_);
    const std::string oldest = window.objects.empty() ? name : window.objects.front();
    std::erase_if(alerted_, [&](const auto& entry) { return entry.second < oldest; });
    for (const auto& [key, at] : alerted_) {
      if (at != name) already.insert(key);
    }
    auto alerts = SelectNewAlerts(summary, name, scores, already);
    section.new_alerts = static_cast<int64_t>(alerts.size());
    if (config_.investigations > 0 && scored->nodes) {
      std::vector<std::pair<events::EntityKind, std::string>> alerted;
      for (const auto& a : alerts) alerted.emplace_back(a.kind, a.entity_id);
      const auto which = PickInvestigated(scores, config_.top, alerted, config_.investigations);
      WindowInHand hand{
          scored->nodes.get(), scored->links.get(), scored->product_id, scored->listed.get(), 0, 0};
      static const auto calendar = events::MinuteCalendar::Open();
      if (calendar.ok()) {
        if (auto first = calendar->Parse(window.objects.empty() ? name : window.objects.front()); first.ok())
          hand.window_start_ms = first->start_ms;
        if (auto last = calendar->Parse(name); last.ok()) hand.window_end_ms = last->end_ms - 1;
      }
      section.investigations =
          BuildInvestigations(m, name, scores, which, hand, InvestigationLimits{}).dump();
    }
    if (alerts_ && !alerts.empty()) {
      if (const Status st = alerts_(alerts); !st.ok()) {
        return st.WithMessage("publishing ", alerts.size(), " fraud alerts of ", name, ": ", st.message());
      }
    }
    for (const auto& a : alerts) alerted_.try_emplace({a.kind, a.entity_id}, name);
  }
  PFAD_RETURN_NOT_OK(WriteScores(store, BesideMinute(minute, events::kScoresSuffix), m.Label(), scores));
  auto& flagged_now = flagged_[name];
  flagged_now.clear();
  for (const auto& s : scores) {
    if (s.is_fraud) flagged_now.emplace(s.kind, s.entity_id);
  }
  if (Snapshotting()) {
    if (const Status st = SaveSnapshot(store, minute, *objects, timing); !st.ok()) {
      // The scores are written; the next process builds its window from the objects.
      Logger("fraud")->warn("fraud state snapshot of minute {} not written: {}", name, st.message());
    }
  }
  section.scoring_ms = elapsed_ms();
  timing.write_ms = (clock.MonotonicSeconds() - write_from) * 1000;
  if (timing_out != nullptr) *timing_out = timing;
  Logger("fraud")->info(
      "scored minute={} objects={} events={} users={} flagged_users={} sessions={} flagged_sessions={} "
      "new_alerts={} ms={} path={} slices_read={} read_ms={:.0f} evict_ms={:.1f} slice_ms={:.0f} "
      "combine_ms={:.0f} "
      "model_ms={:.0f} write_ms={:.0f} snapshot_ms={:.0f} state_bytes={} multi_slice_entities={}",
      name, section.window.objects, section.window.events, section.scored[0], section.flagged[0],
      section.scored[1], section.flagged[1], section.new_alerts, section.scoring_ms,
      timing.live        ? "live"
      : config_.features ? "features"
                         : "full",
      timing.slices_read, timing.read_ms, timing.evict_ms, timing.slice_ms, timing.combine_ms,
      timing.model_ms, timing.write_ms, timing.snapshot_ms, timing.state_bytes, timing.multi_slice_entities);
  return section;
}

}  // namespace pfad::fraud
