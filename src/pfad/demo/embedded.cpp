#include "pfad/demo/embedded.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "pfad/common/log.h"
#include "pfad/dashboard/server.h"
#include "pfad/demo/services.h"
#include "pfad/events/topics.h"
#include "pfad/fraud/graph/window_features.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/fraud/loop/retrain.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/ingest/ingester.h"
#include "pfad/labels/consumer.h"
#include "pfad/metrics/metrics.h"
#include "pfad/produce/event_producer.h"
#include "pfad/schedule/etar_stage.h"

namespace pfad::demo {
namespace {

// Minutes the ingester has announced, so the demo knows when the backfill is stored.
class Announced {
 public:
  void Add(const std::string& minute) {
    std::lock_guard lock(mutex_);
    minutes_.insert(minute);
  }
  bool Has(const std::set<std::string>& wanted) {
    std::lock_guard lock(mutex_);
    return std::ranges::all_of(wanted, [&](const std::string& m) { return minutes_.contains(m); });
  }

 private:
  std::mutex mutex_;
  std::set<std::string> minutes_;
};

// A stage running on its own thread until `stop`; its failure is kept for the end.
class StageThread {
 public:
  template <typename F>
  explicit StageThread(F run) : thread_([this, run = std::move(run)] { result_ = run(); }) {}
  Status Join() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  ~StageThread() { (void)Join(); }

 private:
  Status result_;
  std::thread thread_;
};

// Trains the demo's model on labelled minutes generated a day before `live`
// (their own directory and seed, so nothing of the live minutes is seen) and
// writes it to <dir>/fraud-model.pfm; returns its path.
Result<std::string> TrainStartupModel(const DemoOptions& options, const events::MinuteCalendar& calendar,
                                      const events::Minute& live) {
  const Clock& clock = DefaultClock();
  const double start = clock.MonotonicSeconds();
  const auto root = std::filesystem::path(options.dir);
  const auto training = root / "fraud-training";
  std::filesystem::remove_all(training);
  std::filesystem::create_directories(training);
  PFAD_ASSIGN_OR_RAISE(auto dir, storage::ObjectUri::Parse(training.string()));
  gen::SyntheticMinutes spec{.first = calendar.MinuteOf(live.start_ms - 86'400'000),
                             .minutes = options.training_minutes,
                             .rows = options.events_per_minute,
                             .generator = {.seed = static_cast<uint64_t>(clock.NowMillis()) ^ 0x5eedULL},
                             // Enough actors of every kind to learn from, whatever the live share.
                             .fraud_share = std::max(options.fraud_share, 0.1)};
  // As `pfad gen` and `pfad fraud train` do it.
  PFAD_ASSIGN_OR_RAISE(auto targets, gen::OpenSyntheticTargets(dir, std::nullopt, spec.first, {}));
  PFAD_RETURN_NOT_OK(gen::WriteSyntheticMinutes(targets, calendar, spec).status());
  PFAD_ASSIGN_OR_RAISE(auto window, fraud::OpenMinuteWindow(dir, {}, 0));
  PFAD_ASSIGN_OR_RAISE(auto model, fraud::TrainModel(*window.store, window.minutes, fraud::TrainOptions{}));
  PFAD_ASSIGN_OR_RAISE(auto bytes, model.Serialize());
  const std::string path = (root / "fraud-model.pfm").string();
  PFAD_ASSIGN_OR_RAISE(auto model_dir, storage::ObjectUri::Parse(root.string()));
  PFAD_ASSIGN_OR_RAISE(auto root_store, storage::ObjectStore::Open(model_dir, {}));
  PFAD_RETURN_NOT_OK(root_store->Put(model_dir.Child("fraud-model.pfm"), bytes));
  Logger("demo")->info(
      "fraud model trained: model=\"{}\" minutes={} events_per_minute={} seconds={:.1f} path={}",
      model.Label(), options.training_minutes, options.events_per_minute, clock.MonotonicSeconds() - start,
      path);
  return path;
}

}  // namespace

Status RunEmbedded(const DemoOptions& options, const std::atomic<bool>& stop) {
  auto log = Logger("demo");
  std::filesystem::create_directories(options.dir);
  PFAD_ASSIGN_OR_RAISE(auto calendar, events::MinuteCalendar::Open());
  PFAD_ASSIGN_OR_RAISE(auto dir, storage::ObjectUri::Parse(options.dir));
  PFAD_ASSIGN_OR_RAISE(std::shared_ptr<storage::ObjectStore> store, storage::ObjectStore::Open(dir, {}));

  // One registry for every stage, so the page's pipeline-health row (GET /pipeline) reads the
  // ingester's and the schedule's series without a Prometheus.
  const std::shared_ptr<metrics::Registry> metrics_registry = metrics::ProcessRegistry();
  dashboard::DashboardConfig dash;
  dash.host = options.host;
  dash.port = options.port;
  dash.database = (std::filesystem::path(options.dir) / "dashboard.db").string();
  PFAD_ASSIGN_OR_RAISE(auto server, dashboard::DashboardServer::Make(dash, DefaultClock(), metrics_registry));
  PFAD_RETURN_NOT_OK(server->Start());

  const std::string topic(events::kEventsTopic);
  const std::string dlq = events::DlqTopic(topic);
  const std::string windows = events::WindowsTopic(topic);
  const std::string labels = events::LabelsTopic(topic);
  const std::string alerts = events::AlertsTopic(topic);
  PFAD_ASSIGN_OR_RAISE(auto kafka,
                       EmbeddedKafka::Start({{topic, 6}, {dlq, 1}, {windows, 1}, {labels, 1}, {alerts, 1}}));
  PFAD_ASSIGN_OR_RAISE(auto registry, EmbeddedRegistry::Start());

  const Clock& clock = DefaultClock();
  const auto current = calendar.MinuteOf(clock.NowMillis());
  auto first = current;
  for (int i = 0; i < options.backfill_minutes; ++i) first = calendar.MinuteOf(first.start_ms - 1);

  // The same ETAR stage as pfad run, over the ingester's directory, reporting to
  // the embedded dashboard and following the ingester's announcements.
  schedule::EtarSettings settings;
  settings.objects = dir;
  settings.registry = metrics_registry;
  settings.schedule.dashboard_url = "http://127.0.0.1:" + std::to_string(server->port());
  settings.schedule.state = (std::filesystem::path(options.dir) / "schedule.db").string();
  settings.schedule.announcements = windows;
  settings.schedule.bootstrap = kafka->bootstrap();
  settings.schedule.delay = std::chrono::seconds(30);  // by clock only when ingest announced nothing
  settings.schedule.options.retry_delay = std::chrono::seconds(1);
  settings.schedule.options.catchup = true;
  settings.schedule.options.start_ms = first.start_ms;
  settings.fraud = {.model = options.fraud_model, .alerts_topic = alerts, .bootstrap = kafka->bootstrap()};
  if (settings.fraud.model.empty()) {
    PFAD_ASSIGN_OR_RAISE(settings.fraud.model, TrainStartupModel(options, calendar, first));
  }
  const std::string model_file = settings.fraud.model;
  const std::string settings_dashboard = settings.schedule.dashboard_url;
  PFAD_ASSIGN_OR_RAISE(auto etar, schedule::EtarStage::Make(std::move(settings), clock));
  etar.outbox->Start(std::chrono::milliseconds(250));
  schedule::MinuteScheduler scheduler(etar.config.Options(), etar.calendar, clock, *etar.runs, etar.task,
                                      etar.RunReporter());

  // Stages stop on Ctrl-C, or when another stage fails.
  std::atomic<bool> stop_stages{false};
  Announced announced;
  PFAD_ASSIGN_OR_RAISE(
      auto announcements,
      etar.FollowAnnouncements(scheduler, [&](const schedule::Announcement& a) { announced.Add(a.minute); }));

  ingest::IngestOptions in;
  in.bootstrap = kafka->bootstrap();
  in.registry_url = registry->url();
  in.topic = topic;
  in.group = "pfad-demo";
  in.registry = metrics_registry;
  in.sink = dir;
  in.windows.grace_ms = options.grace_ms;
  in.windows.idle_timeout_ms = 2000;
  StageThread ingester([&]() -> Status {
    auto stats = ingest::Run(in, store, stop_stages, clock);
    if (!stats.ok()) stop_stages = true;
    return stats.status();
  });

  // The past minutes first, as fast as they go, then live events at the configured rate.
  produce::ProduceOptions out;
  out.bootstrap = kafka->bootstrap();
  out.registry_url = registry->url();
  out.topic = topic;
  out.seed = static_cast<uint64_t>(clock.NowMillis());
  if (options.fraud_share > 0) out.fraud_share = options.fraud_share;
  std::set<std::string> backfill;
  if (options.backfill_minutes > 0) {
    out.count = options.backfill_minutes * options.events_per_minute;
    out.start_time_ms = first.start_ms;
    out.minutes = options.backfill_minutes;
    PFAD_ASSIGN_OR_RAISE(auto sent, produce::Run(out, stop_stages, clock, nullptr));
    if (sent.failed > 0) return Status::IOError("demo: ", sent.failed, " past events were not delivered");
    for (auto m = first; m.start_ms < current.start_ms; m = calendar.MinuteOf(m.end_ms))
      backfill.insert(m.Name());
  }
  out.count.reset();
  out.start_time_ms.reset();
  out.minutes = 0;
  out.seed += 1;
  out.rate = static_cast<double>(options.events_per_minute) / 60.0;
  StageThread producer([&]() -> Status {
    auto stats = produce::Run(out, stop_stages, clock, nullptr);
    if (!stats.ok()) stop_stages = true;
    return stats.status();
  });

  // The clock only starts once the past minutes are stored (or 30 s passed), so
  // it never runs one of them before ingest has written it.
  const int64_t wait_until = clock.NowMillis() + 30'000;
  while (!stop.load() && !stop_stages.load() && !announced.Has(backfill) && clock.NowMillis() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log->info("demo: kafka (embedded) at {}, registry at {}, minutes in {}; dashboard on http://{}:{}",
            kafka->bootstrap(), registry->url(), options.dir, options.host, server->port());

  // The analyst loop: labels (the producer's, the page's verdicts) into the store, and a retrain
  // every few minutes whose record the page shows (with the alerts' precision against the labels).
  labels::LabelsOptions labelling;
  labelling.bootstrap = kafka->bootstrap();
  labelling.topic = topic;
  labelling.prefix = (std::filesystem::path(options.dir) / "labels").string();
  labelling.dashboard_url = settings_dashboard;
  StageThread labeller([&]() -> Status {
    auto stats = labels::Run(labelling, storage::StorageConfig{}, stop_stages, clock);
    if (!stats.ok()) log->warn("demo: the labels consumer stopped: {}", stats.status().message());
    return Status::OK();  // the loop is a side stream: the pipeline goes on without it
  });
  StageThread retrainer([&]() -> Status {
    if (options.retrain_minutes <= 0) return Status::OK();
    fraud::RetrainOptions retrain;
    retrain.minutes = dir;
    retrain.model_file = model_file;
    retrain.hours = 1;
    retrain.holdout_minutes = 3;
    retrain.train.model = "trees_graph";
    retrain.train.window_minutes = 10;
    const auto every = std::chrono::minutes(options.retrain_minutes);
    auto next = std::chrono::steady_clock::now() + every;
    while (!stop.load() && !stop_stages.load()) {
      if (std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      next += every;
      auto record = fraud::Retrain(retrain, clock);
      if (!record.ok()) {
        log->warn("demo: retrain failed: {}", record.status().message());
        continue;
      }
      log->info("demo: retrain v{}: {} ({})", record->version,
                record->promoted ? "promoted" : "kept the model", record->reason);
      if (const Status st = fraud::PostModelRecord(settings_dashboard, "", model_file, *record); !st.ok())
        log->warn("demo: the registry record was not shown: {}", st.message());
    }
    return Status::OK();
  });

  const Status result = schedule::RunForever(scheduler, clock, std::chrono::milliseconds(200),
                                             [&] { return stop.load() || stop_stages.load(); });
  stop_stages = true;
  (void)retrainer.Join();
  (void)labeller.Join();
  const Status produced = producer.Join();
  const Status ingested = ingester.Join();
  announcements.reset();
  scheduler.WaitIdle();
  server->Stop();
  PFAD_RETURN_NOT_OK(result);
  PFAD_RETURN_NOT_OK(produced);
  return ingested;
}

}  // namespace pfad::demo
