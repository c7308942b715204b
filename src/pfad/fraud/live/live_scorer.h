// Fraud scoring in the live pipeline (docs/FRAUD.md section 6): every minute,
// after its analysis, the window ending with that minute is scored, the scores
// object is written beside the minute, the report gains its "fraud" object and
// each newly flagged entity is alerted once. `pfad run` / `pfad backfill` (the
// ETAR task) and `pfad fraud score --report` (the Airflow task) both call
// LiveScorer::ScoreMinute: one code path.
//
// Never lost for a model: a missing, unreadable or corrupt model, or a window
// that cannot be read, gives a section with state kNotRun and the reason (and
// an error log line); the minute's report is written and posted all the same.
//
// "Once" for alerts: an entity flagged now is new unless it was flagged in one
// of the scores objects of the earlier minutes of the same window (what a
// restart finds in storage) or was alerted by this scorer already (runs of
// consecutive minutes that overlap in one process). The scores object is
// written only after its alerts were published, so a failed publish fails the
// run, and its retry (or the next minute) sends them again: at least once,
// never silently dropped; exactly once when nothing fails.
#pragma once

#include "pfad/analyze/report.h"
#include "pfad/common/clock.h"
#include "pfad/common/config_file.h"
#include "pfad/common/settings.h"
#include "pfad/events/topics.h"
#include "pfad/fraud/graph/window_slices.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/fraud/models/scoring.h"
#include "pfad/storage/object_store.h"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pfad::fraud {

// The live scoring settings: defaults <- [fraud] of the config file <- environment.
//
//   [fraud]
//   model = "/path/model.pfad"            # PFAD_FRAUD_MODEL; "" = scoring does not run
//   alerts_topic = "user_interactions.fraud"  # PFAD_FRAUD_ALERTS_TOPIC; "" = no alerts
//   bootstrap = "127.0.0.1:9092"          # Kafka of the alerts; PFAD_KAFKA_BOOTSTRAP
//   top = 10                              # entities in the report's "top" list
//   max_window_events = 0                 # the live window's bound; 0 = sized from the memory
//   investigations = 25                   # entity views per minute in the report (0 = none)
struct FraudConfig {
  std::string model;
  std::string alerts_topic = events::AlertsTopic(events::kEventsTopic);
  std::string bootstrap = "127.0.0.1:9092";
  int top = 10;
  int64_t max_window_events = 0;
  int investigations = 25;
  // Not settings: how the scorer keeps its window (docs/FRAUD.md section 8).
  bool full = false;       // rebuild every window from its objects (`pfad fraud score --full`)
  bool snapshots = false;  // load and save the live window beside the scores (one process per minute)
  // When set, the window's graph features come from this engine (the Spark engine,
  // above what one scorer holds) and a trees model scores them; no live window.
  std::function<Result<GraphFeatures>(const std::vector<storage::ObjectUri>& minute_objects)> features;

  static Result<FraudConfig> Resolve(const ConfigFile& file);
  // The rows Resolve reads (key, environment, default, unit, description); `pfad config` prints them.
  static const SettingsTable<FraudConfig>& Settings();
};

// One alert on the alerts topic (JSON, key = entity_id).
struct Alert {
  events::EntityKind kind = events::EntityKind::kUser;
  std::string entity_id;
  double fraud_score = 0;
  double threshold = 0;
  std::string model;   // FraudModel::Label()
  std::string minute;  // YYYY-MM-DD_HH-MM, the minute whose window flagged it
  std::string top_features;
};
// {"entity_kind", "entity_id", "fraud_score", "threshold", "model", "minute", "top_features"}
std::string AlertToJson(const Alert& alert);

// Publishes alerts (all or an error); the Kafka one is kafka::JsonPublisher.
using AlertSink = std::function<Status(const std::vector<Alert>& alerts)>;

// Counts of scores per equal-width bin over [0, 1] (1.0 in the last bin; scores
// outside [0, 1] are clamped), one vector per kind.
std::vector<int64_t> ScoreHistogram(const std::vector<EntityScore>& scores, events::EntityKind kind,
                                    int bins);

// What the window looked like (for the section).
struct WindowSummary {
  int minutes = 0;                   // the model's window length
  std::vector<std::string> objects;  // minute names in the window, in order
  int64_t events = 0;
};

// What the section and the alerts say about a model.
struct ModelSummary {
  std::string label;                 // FraudModel::Label()
  double threshold[2] = {0.5, 0.5};  // per events::EntityKind
  static ModelSummary Of(const FraudModel& model);
};

// The "scored" section of a window's scores: counts, thresholds, histograms
// (10 bins) and the `top` highest scores over both kinds, descending.
analyze::FraudSection BuildScoredSection(const ModelSummary& model, const WindowSummary& window,
                                         const std::vector<EntityScore>& scores, int top);
// A "not_run" section.
analyze::FraudSection NotRunSection(std::string reason);

// Identifies an entity across kinds: {kind, id}.
using EntityKey = std::pair<events::EntityKind, std::string>;

// The flagged entities of `scores` that are not in `already`, as alerts, in
// descending score order.
std::vector<Alert> SelectNewAlerts(const ModelSummary& model, const std::string& minute,
                                   const std::vector<EntityScore>& scores,
                                   const std::set<EntityKey>& already);

// The entities flagged (is_fraud) in a scores object; an absent object gives none.
Result<std::set<EntityKey>> ReadFlagged(const storage::ObjectStore& store,
                                        const storage::ObjectUri& scores_object);

// Reads and checks a model file; the error names the file and the cause
// (missing, unreadable, corrupt).
Result<FraudModel> LoadModel(const std::string& path);

// The window ending with `minute`: the `window_minutes` minute objects up to and
// including it that exist (a minute object beside it counts, other objects do not).
Result<std::vector<storage::ObjectUri>> WindowEndingWith(const storage::ObjectStore& store,
                                                         const storage::ObjectUri& minute,
                                                         int window_minutes);

// A minute object of a window with what Stat said of it.
struct WindowObject {
  storage::ObjectUri uri;
  std::string name;     // YYYY-MM-DD_HH-MM
  int64_t index = 0;    // minutes since the epoch
  std::string version;  // "<size>:<mtime ns>": a rewritten object has another
};
Result<std::vector<WindowObject>> WindowObjectsEndingWith(const storage::ObjectStore& store,
                                                          const storage::ObjectUri& minute,
                                                          int window_minutes);

// The live window's snapshot beside a minute: `<minute>.fraud-state`.
inline constexpr std::string_view kStateSuffix = ".fraud-state";

// The default bound of the live window: what this machine's memory holds with
// room to spare (a quarter of the physical memory at ~160 bytes per event).
int64_t DefaultMaxWindowEvents();

class LiveScorer {
 public:
  // `alerts` null = alerts are not published (new_alerts still counts them).
  LiveScorer(FraudConfig config, AlertSink alerts);

  // Scores the window ending with `minute` (a minute object that exists),
  // writes its scores object and publishes the new alerts. A model or window
  // problem is a kNotRun section, never an error; the error is a failed publish
  // or scores write (the run should fail and be retried).
  // Where a scored minute's time went (`pfad fraud score` prints it; the bench reads it).
  struct Timing {
    int64_t events = 0;
    double read_ms = 0;   // reading minute objects (live: the new or changed ones only)
    double score_ms = 0;  // graph, features and model: evict + slices + combine + model when live
    double write_ms = 0;  // previous scores, alerts, the scores object, the snapshot
    // Live only: the parts of score_ms and write_ms, and what the window did.
    bool live = false;
    int slices_read = 0;     // minute objects read into slices this minute
    double evict_ms = 0;     // dropping the slices that left the window
    double slice_ms = 0;     // building their slices
    double combine_ms = 0;   // node features and links from the slices
    double model_ms = 0;     // the model and the explanations
    double snapshot_ms = 0;  // loading (first minute) and saving the snapshot
    int64_t snapshot_bytes = 0;
    int64_t multi_slice_entities = 0;  // users and sessions found in more than one slice
    int64_t state_bytes = 0;           // the live window's memory, roughly
  };
  Result<analyze::FraudSection> ScoreMinute(const storage::ObjectStore& store,
                                            const storage::ObjectUri& minute,
                                            const Clock& clock = DefaultClock(), Timing* timing = nullptr);

  [[nodiscard]] const FraudConfig& config() const { return config_; }

 private:
  // The live path: the window's slices brought up to date, combined and scored.
  struct Scored {
    std::vector<EntityScore> scores;
    int64_t events = 0;
    // What the investigations read (none from the features engine).
    std::shared_ptr<const NodeFeatures> nodes;
    std::shared_ptr<const Adjacency> links;
    std::shared_ptr<const WindowEvents> listed;  // the window's events (full) or the newest minute's (live)
    std::function<std::string(uint32_t)> product_id;
  };
  Result<Scored> ScoreLive(const FraudModel& model, const storage::ObjectStore& store,
                           const storage::ObjectUri& minute, const std::vector<WindowObject>& objects,
                           const Clock& clock, Timing& timing);
  // The live window goes from process to process as a snapshot (pfad fraud score).
  [[nodiscard]] bool Snapshotting() const { return config_.snapshots && !config_.full && !config_.features; }
  Result<Scored> ScoreFeatures(const FraudModel& model, const std::vector<WindowObject>& objects,
                               const Clock& clock, Timing& timing);
  Result<Scored> ScoreFull(const FraudModel& model, const storage::ObjectStore& store,
                           const std::vector<WindowObject>& objects, const Clock& clock, Timing& timing);
  void LoadSnapshot(const storage::ObjectStore& store, const storage::ObjectUri& minute, Timing& timing);
  Status SaveSnapshot(const storage::ObjectStore& store, const storage::ObjectUri& minute,
                      const std::vector<WindowObject>& objects, Timing& timing);
  // The entities flagged in the scores of the window's minutes (cached per minute).
  std::set<EntityKey> FlaggedBefore(const storage::ObjectStore& store, const storage::ObjectUri& minute,
                                    const std::vector<WindowObject>& objects);

  // The model, loaded once and again whenever its file changes.
  Result<std::shared_ptr<const FraudModel>> Model();

  FraudConfig config_;
  AlertSink alerts_;
  std::mutex model_mutex_;
  std::shared_ptr<const FraudModel> model_;
  std::filesystem::file_time_type model_time_{};
  // Entities alerted by this scorer -> the minute name that alerted them;
  // pruned to the last window.
  std::mutex alerted_mutex_;
  std::map<EntityKey, std::string> alerted_;
  // The live window (one minute scored at a time) and the flagged entities of
  // each scored minute of it (what the scores objects hold), by minute name.
  std::mutex window_mutex_;
  SlicedWindow window_;
  bool snapshot_tried_ = false;
  std::map<std::string, std::set<EntityKey>> flagged_;
};

}  // namespace pfad::fraud
