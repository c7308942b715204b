// pfad fraud features <window> [--engine local|spark] --out <dir>
// pfad fraud eval <window> | --interactions <file>  [--json] [--pr-curves <svg>]
// pfad fraud train <window> --out <model file>
// pfad fraud score <minute object> [--model <model file>] [--report] [--alerts]
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fstream>

#include "cli.h"
#include "pfad/analyze/analyze.h"
#include "pfad/fraud/eval/evaluate.h"
#include "pfad/fraud/eval/render.h"
#include "pfad/fraud/graph/truth.h"
#include "pfad/fraud/graph/window_features.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/fraud/live/minute_score.h"
#include "pfad/fraud/loop/retrain.h"
#include "pfad/fraud/models/fraud_model.h"
#include "pfad/fraud/models/scoring.h"
#include "pfad/schedule/etar.h"
#include "pfad/spark/fraud_features.h"

namespace pfad::cli {
namespace {

struct WindowFlags {
  std::string source;       // directory, S3 prefix or one minute object
  int window_minutes = 10;  // the last N minute objects; 0 = all
  StorageFlags storage;
};

// The window the flags name: all its minute objects, or with last_only the last --window-minutes.
Result<fraud::MinuteWindow> OpenWindow(const WindowFlags& flags, const ConfigFile& config_file,
                                       bool last_only) {
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(auto source, storage::ObjectUri::Parse(flags.source));
  return fraud::OpenMinuteWindow(source, storage_config, last_only ? flags.window_minutes : 0);
}

struct FeaturesFlags {
  WindowFlags window;
  EngineFlags engine;
  std::string out;
};

Status RunFeatures(const FeaturesFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.window.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto window, OpenWindow(flags.window, config_file, /*last_only=*/true));
  PFAD_ASSIGN_OR_RAISE(auto features, spark::ComputeWindowFeatures(flags.engine.Name("local"), window, [&] {
                         return flags.engine.ResolveSpark(config_file);
                       }));
  if (features.timing) {
    // Read by the benchmark (bench/fraud_bench.py).
    fmt::print("window: {} minute objects, {} events; read {:.1f} ms, graph and features {:.1f} ms\n",
               window.minutes.size(), features.timing->events, features.timing->read_ms,
               features.timing->features_ms);
  }
  PFAD_ASSIGN_OR_RAISE(auto out, storage::ObjectUri::Parse(flags.out));
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.window.storage.Resolve(config_file));
  return fraud::WriteFeatureTables(
      out, storage_config, features.tables, [](const fraud::WrittenFeatureTable& table) {
        fmt::print("{} {} rows x {} features\n", table.uri.ToString(), table.rows, table.cols);
      });
}

struct EvalFlags {
  WindowFlags window;
  std::string interactions;
  fraud::InteractionsOptions labels;
  fraud::EvalOptions options;
  bool json = false;
  std::string pr_curves;
};

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IOError(path, ": cannot write");
  return Status::OK();
}

Status RunEval(const EvalFlags& flags) {
  fraud::Evaluation evaluation;
  if (!flags.interactions.empty()) {
    PFAD_ASSIGN_OR_RAISE(evaluation,
                         fraud::EvaluateInteractions(flags.interactions, flags.labels, flags.options));
  } else {
    if (flags.window.source.empty())
      return Status::Invalid("give a directory or prefix of minute objects, or --interactions");
    PFAD_ASSIGN_OR_RAISE(auto config_file, flags.window.storage.LoadConfig());
    PFAD_ASSIGN_OR_RAISE(auto window, OpenWindow(flags.window, config_file, /*last_only=*/false));
    PFAD_ASSIGN_OR_RAISE(evaluation, fraud::EvaluateMinutes(*window.store, window.minutes, flags.options));
  }
  if (!flags.pr_curves.empty())
    PFAD_RETURN_NOT_OK(WriteFile(flags.pr_curves, fraud::RenderPrCurvesSvg(evaluation)));
  fmt::print("{}\n", flags.json ? fraud::RenderJson(evaluation) : fraud::RenderMarkdown(evaluation));
  return Status::OK();
}

struct TrainFlags {
  WindowFlags window;
  fraud::TrainOptions options;
  std::string out;
  std::string labels;  // the labels store; "" = <window>/labels
};

std::string LabelCountsText(const fraud::LabelCounts& c) {
  return fmt::format(
      "{} users and {} sessions labelled fraud, {} and {} not ({} rows beside the minutes, {} from the "
      "labels store)",
      c.positive[0], c.positive[1], c.negative[0], c.negative[1], c.beside, c.from_store);
}

Status RunTrain(const TrainFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.window.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto window, OpenWindow(flags.window, config_file, /*last_only=*/false));
  fraud::TrainOptions options = flags.options;
  fraud::LabelCounts counts;
  options.label_counts = &counts;
  if (!flags.labels.empty()) {
    PFAD_ASSIGN_OR_RAISE(options.labels, storage::ObjectUri::Parse(flags.labels));
  }
  PFAD_ASSIGN_OR_RAISE(auto model, fraud::TrainModel(*window.store, window.minutes, options));
  PFAD_ASSIGN_OR_RAISE(auto bytes, model.Serialize());
  PFAD_RETURN_NOT_OK(WriteFile(flags.out, bytes));
  fmt::print("{}: {} trained on {} minute objects, {}-minute windows; labels: {}\n", flags.out, model.Label(),
             window.minutes.size(), model.window_minutes, LabelCountsText(counts));
  return Status::OK();
}

struct RetrainFlags {
  std::string source, labels, dashboard;
  std::optional<std::string> model;
  fraud::RetrainOptions options;
  StorageFlags storage;
  bool json = false;
};

std::string PrAucText(const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : "-"; }

Status RunRetrain(const RetrainFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto config, fraud::FraudConfig::Resolve(config_file));
  Overlay(flags.model, config.model);
  fraud::RetrainOptions options = flags.options;
  options.model_file = config.model;
  PFAD_ASSIGN_OR_RAISE(options.storage, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(options.minutes, storage::ObjectUri::Parse(flags.source));
  if (!flags.labels.empty()) {
    PFAD_ASSIGN_OR_RAISE(options.labels, storage::ObjectUri::Parse(flags.labels));
  }
  PFAD_ASSIGN_OR_RAISE(const auto record, fraud::Retrain(options));
  if (!flags.dashboard.empty()) {
    // The page shows the registry beside the model in use; the registry file stays the record.
    const char* token = std::getenv("PFAD_DASHBOARD_TOKEN");
    if (const Status st =
            fraud::PostModelRecord(flags.dashboard, token ? token : "", options.model_file, record);
        !st.ok()) {
      fmt::print(stderr, "pfad fraud retrain: the record was not posted: {}\n", st.message());
    }
  }
  if (flags.json) {
    fmt::print("{}\n", record.ToJson().dump());
    return Status::OK();
  }
  fmt::print("registry v{}: {}; {}\n", record.version,
             record.promoted ? "promoted to " + options.model_file : "not promoted", record.reason);
  fmt::print("trained on {} minutes ({} to {}), judged on {} held-out minutes ({} to {})\n",
             record.train_minutes, record.train_first, record.train_last, record.holdout_minutes,
             record.holdout_first, record.holdout_last);
  fmt::print(
      "PR-AUC: challenger {}, champion {}; alert precision: challenger {}, champion {}; training labels: "
      "{}\n",
      PrAucText(record.challenger_pr_auc), PrAucText(record.champion_pr_auc),
      PrAucText(record.challenger_precision), PrAucText(record.champion_precision),
      LabelCountsText(record.train_labels));
  return Status::OK();
}

std::string FormatUtcMillis(int64_t ms) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::gmtime(static_cast<std::time_t>(ms / 1000)));
}

struct ModelsFlags {
  std::optional<std::string> model;
  StorageFlags storage;
  bool json = false;
};

Status RunModels(const ModelsFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto config, fraud::FraudConfig::Resolve(config_file));
  Overlay(flags.model, config.model);
  if (config.model.empty())
    return Status::Invalid("no model: give --model, [fraud] model or PFAD_FRAUD_MODEL");
  PFAD_ASSIGN_OR_RAISE(const auto registry, fraud::ReadRegistry(config.model));
  if (flags.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& r : registry) list.push_back(r.ToJson());
    fmt::print("{}\n", list.dump());
    return Status::OK();
  }
  auto in_use = fraud::LoadModel(config.model);
  fmt::print(
      "model in use: {}: {}\n", config.model,
      in_use.ok() ? in_use->Label() + ", trained on " + in_use->trained_on : in_use.status().message());
  fmt::print(
      "| version | created (UTC) | model | trained on | held out | PR-AUC challenger | PR-AUC champion | "
      "promoted | why |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : registry) {
    fmt::print("| v{} | {} | {} | {} to {} ({} min) | {} to {} ({} min) | {} | {} | {} | {} |\n", r.version,
               FormatUtcMillis(r.created_ms), r.model.empty() ? "-" : r.model, r.train_first, r.train_last,
               r.train_minutes, r.holdout_first, r.holdout_last, r.holdout_minutes,
               PrAucText(r.challenger_pr_auc), PrAucText(r.champion_pr_auc), r.promoted ? "yes" : "no",
               r.reason);
  }
  if (registry.empty())
    fmt::print("(no retrain yet: {} is empty or absent)\n", fraud::RegistryPath(config.model));
  return Status::OK();
}

struct ScoreFlags {
  std::string minute;
  std::optional<std::string> model, alerts_topic, bootstrap;
  bool report = false;  // update the report object beside the minute
  bool alerts = false;  // publish the new alerts
  bool full = false;    // rebuild the window from its objects (the reference path)
  bool no_snapshot = false;
  EngineFlags engine;  // spark: the window's features from Spark, a trees model over them
  StorageFlags storage;
};

// One minute through fraud::LiveScorer, the code path of the ETAR task
// (docs/FRAUD.md, "Scoring in the live pipeline"). With --report, a model or window problem is the
// report's reason, not a failure.
Status RunScore(const ScoreFlags& flags) {
  PFAD_ASSIGN_OR_RAISE(auto config_file, flags.storage.LoadConfig());
  PFAD_ASSIGN_OR_RAISE(auto storage_config, flags.storage.Resolve(config_file));
  PFAD_ASSIGN_OR_RAISE(auto config, fraud::FraudConfig::Resolve(config_file));
  Overlay(flags.model, config.model);
  Overlay(flags.alerts_topic, config.alerts_topic);
  Overlay(flags.bootstrap, config.bootstrap);
  if (!flags.report) {
    // Scoring alone: no model is an error (exit 3), as one line.
    if (config.model.empty())
      return Status::Invalid("no model: give --model, [fraud] model or PFAD_FRAUD_MODEL");
    PFAD_RETURN_NOT_OK(fraud::LoadModel(config.model).status());
  }
  PFAD_ASSIGN_OR_RAISE(auto minute, storage::ObjectUri::Parse(flags.minute));
  PFAD_ASSIGN_OR_RAISE(auto to_score, fraud::OpenMinuteToScore(minute, storage_config, flags.report));
  if (to_score.NoData()) {
    fmt::print("{}: no data for this minute, nothing to score\n", to_score.report_uri.ToString());
    return Status::OK();
  }
  if (!flags.alerts) config.alerts_topic.clear();
  // One process per minute (the Airflow task): the live window goes from minute to
  // minute as a snapshot beside the scores (docs/FRAUD.md section 8).
  config.full = flags.full;
  config.snapshots = !flags.full && !flags.no_snapshot;
  if (flags.engine.Name("local") == "spark") {
    // Above what one scorer holds (docs/FRAUD.md section 8): every minute is a
    // full computation of the window's features in Spark; no live window here.
    PFAD_ASSIGN_OR_RAISE(auto spark_config, flags.engine.ResolveSpark(config_file));
    PFAD_ASSIGN_OR_RAISE(auto session, spark::SparkSession::Open(spark_config));
    config.snapshots = false;
    config.features =
        [session](const std::vector<storage::ObjectUri>& objects) -> Result<fraud::GraphFeatures> {
      PFAD_ASSIGN_OR_RAISE(auto tables, spark::SparkGraphFeatures(*session, objects));
      if (tables.size() != 2)
        return Status::Invalid("the Spark engine gave ", tables.size(), " feature tables");
      return fraud::GraphFeatures{std::move(tables[0]), std::move(tables[1])};
    };
  }
  PFAD_ASSIGN_OR_RAISE(auto kafka_properties, kafka::ConfiguredProperties(config_file));
  const auto scorer = schedule::MakeLiveScorer(config, kafka_properties);
  fraud::LiveScorer::Timing timing;
  PFAD_ASSIGN_OR_RAISE(auto section, fraud::ScoreMinuteToScore(*scorer, to_score, DefaultClock(), &timing));
  if (section.state == analyze::FraudSection::State::kNotRun) {
    fmt::print("{}: fraud scoring did not run: {}\n", to_score.report_uri.ToString(), section.reason);
    return Status::OK();
  }
  fmt::print("{}: {} users ({} flagged), {} sessions ({} flagged) over {} minutes, {}, {} new alerts{}\n",
             fraud::BesideMinute(minute, events::kScoresSuffix).ToString(), section.scored[0],
             section.flagged[0], section.scored[1], section.flagged[1], section.window.objects, section.model,
             section.new_alerts,
             flags.alerts ? " to " + config.alerts_topic : std::string(" (not published)"));
  fmt::print("timing: {} events, read {:.0f} ms, graph and scores {:.0f} ms, write {:.0f} ms\n",
             timing.events, timing.read_ms, timing.score_ms, timing.write_ms);
  if (timing.live) {
    fmt::print(
        "live window: {} minute objects read, slices {:.0f} ms, combine {:.0f} ms, model {:.0f} ms, "
        "snapshot {:.0f} ms ({} bytes), state {} bytes, {} entities in several minutes\n",
        timing.slices_read, timing.slice_ms, timing.combine_ms, timing.model_ms, timing.snapshot_ms,
        timing.snapshot_bytes, timing.state_bytes, timing.multi_slice_entities);
  }
  return Status::OK();
}

void AddWindowFlags(CLI::App& cmd, WindowFlags& flags, bool required) {
  auto* source =
      cmd.add_option("window", flags.source,
                     "directory or S3 prefix of minute objects (YYYY-MM-DD_HH-MM.parquet), or one object");
  if (required) source->required();
  flags.storage.AddTo(cmd);
}

void AddGnnFlags(CLI::App& cmd, fraud::GnnParams& params) {
  cmd.add_option("--gnn-hidden", params.hidden, "GNN hidden size (even)")
      ->capture_default_str()
      ->check(CLI::Range(2, 512));
  cmd.add_option("--gnn-layers", params.layers, "GNN message-passing layers")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  cmd.add_option("--gnn-epochs", params.epochs, "GNN training epochs (full batch)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd.add_option("--gnn-learning-rate", params.learning_rate, "GNN Adam learning rate")
      ->capture_default_str();
  cmd.add_option("--gnn-weight-decay", params.weight_decay, "GNN decoupled weight decay")
      ->capture_default_str();
}

}  // namespace

void RegisterFraud(CLI::App& app, int& exit_code) {
  CLI::App* fraud = app.add_subcommand(
      "fraud", "Fraud stage: window graph features, model evaluation, training and scoring (docs/FRAUD.md)");
  fraud->require_subcommand(1);

  auto features = std::make_shared<FeaturesFlags>();
  CLI::App* fcmd = fraud->add_subcommand(
      "features",
      "Compute the window graph's features (docs/FRAUD.md, \"Window graph and features\") and write "
      "<out>/user_features.parquet\n"
      "and <out>/session_features.parquet: entity_id, then one float64 column per feature.");
  AddWindowFlags(*fcmd, features->window, true);
  fcmd->add_option("--window-minutes", features->window.window_minutes,
                   "use the last N minute objects (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  features->engine.AddTo(*fcmd);
  fcmd->add_option("--out", features->out, "output directory (local or s3://bucket/prefix)")->required();
  fcmd->footer(std::string(kExitCodesHelp));
  fcmd->callback([features, &exit_code] {
    if (const Status st = RunFeatures(*features); !st.ok()) exit_code = ReportError("fraud features", st);
  });

  auto eval = std::make_shared<EvalFlags>();
  CLI::App* ecmd = fraud->add_subcommand(
      "eval",
      "Train and judge the fraud models (rules, trees on node features, trees on graph features, the GNNs,\n"
      "and the shuffled-edge controls) on labelled data: minute objects with their .labels.parquet beside "
      "them\n"
      "(earlier minutes train, later ones test), or --interactions <file>. Prints a Markdown table.");
  AddWindowFlags(*ecmd, eval->window, false);
  ecmd->add_option("--interactions", eval->interactions,
                   "labelled user-item list instead of minute objects: CSV, TSV or Parquet with columns\n"
                   "user, item, label and optionally time (integer); users are scored");
  ecmd->add_option("--positive-label", eval->labels.positive_label, "label value of a fraud row")
      ->capture_default_str();
  ecmd->add_option("--negative-label", eval->labels.negative_label, "label value of a normal row")
      ->capture_default_str();
  ecmd->add_option("--seeds", eval->options.seeds, "seeds (each retrains every model)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  ecmd->add_option("--first-seed", eval->options.first_seed, "first seed")->capture_default_str();
  ecmd->add_option("--train-share", eval->options.train_share, "share of the minutes (or users) that train")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 0.95));
  ecmd->add_option("--rounds", eval->options.trees.rounds, "boosting rounds of the tree models")
      ->capture_default_str()
      ->check(CLI::Range(1, 5000));
  AddGnnFlags(*ecmd, eval->options.gnn_params);
  ecmd->add_flag(
      "--no-gnn", [eval](int64_t) { eval->options.gnn = false; }, "leave out the GNN models (faster)");
  ecmd->add_flag("--json", eval->json, "print JSON instead of Markdown");
  ecmd->add_option("--pr-curves", eval->pr_curves,
                   "also write the PR curves of the first seed as SVG to this file");
  ecmd->footer(std::string(kExitCodesHelp));
  ecmd->callback([eval, &exit_code] {
    if (const Status st = RunEval(*eval); !st.ok()) exit_code = ReportError("fraud eval", st);
  });
  auto train = std::make_shared<TrainFlags>();
  CLI::App* tcmd = fraud->add_subcommand(
      "train",
      "Train the fraud model (by default the heterophily GNN over the window graph; or GraphSAGE, or "
      "boosted\n"
      "trees on the window graph's features) on labelled minute objects (.labels.parquet beside them) and\n"
      "write it to --out (a versioned model file).");
  AddWindowFlags(*tcmd, train->window, true);
  tcmd->add_option("--out", train->out, "model file to write")->required();
  tcmd->add_option("--window-minutes", train->options.window_minutes,
                   "minutes per window, as scoring will see them")
      ->capture_default_str()
      ->check(CLI::Range(1, 1440));
  tcmd->add_option("--model", train->options.model, "what to train: gnn_hetero, gnn_sage or trees_graph")
      ->capture_default_str()
      ->check(CLI::IsMember(fraud::TrainableModels()));
  tcmd->add_option("--threshold", train->options.threshold,
                   "score at or above which an entity is flagged (default: trees 0.5; a GNN its score at\n"
                   "--train-fpr over the training entities, at least 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  tcmd->add_option("--train-fpr", train->options.train_fpr,
                   "a GNN's threshold: this false-positive rate on the training entities")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  tcmd->add_option(
      "--labels", train->labels,
      "the labels store (docs/FRAUD.md section 9), read beside the minutes' own labels (default: "
      "<window>/labels)");
  AddGnnFlags(*tcmd, train->options.gnn);
  tcmd->add_option("--rounds", train->options.trees.rounds, "boosting rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 5000));
  tcmd->add_option("--seed", train->options.trees.seed, "seed of the tree sampling")->capture_default_str();
  tcmd->footer(std::string(kExitCodesHelp));
  tcmd->callback([train, &exit_code] {
    if (const Status st = RunTrain(*train); !st.ok()) exit_code = ReportError("fraud train", st);
  });

  auto retrain = std::make_shared<RetrainFlags>();
  retrain->options.train.model = "trees_graph";
  CLI::App* rcmd = fraud->add_subcommand(
      "retrain",
      "Train a challenger on the last --hours of minute objects and their labels (beside them and in the "
      "labels\n"
      "store), judge it and the model in use (the champion) on the newest --holdout-minutes, and promote it\n"
      "(replace the model file atomically) only if its PR-AUC is at least the champion's + --margin. Every\n"
      "candidate is kept as <model>.v<N> and recorded in <model>.registry.jsonl (docs/FRAUD.md section 9).");
  rcmd->add_option("minutes", retrain->source, "directory or S3 prefix of the minute objects")->required();
  rcmd->add_option(
      "--model", retrain->model,
      "the champion's model file, replaced on promotion (default: $PFAD_FRAUD_MODEL, else [fraud] model)");
  rcmd->add_option("--labels", retrain->labels, "the labels store (default: <minutes>/labels)");
  rcmd->add_option("--hours", retrain->options.hours, "the last N hours of minutes: training and held out")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 30));
  rcmd->add_option("--holdout-minutes", retrain->options.holdout_minutes,
                   "the newest minutes, held out to judge")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 60));
  rcmd->add_option("--margin", retrain->options.margin, "PR-AUC the challenger must gain over the champion")
      ->capture_default_str()
      ->check(CLI::Range(-1.0, 1.0));
  rcmd->add_option("--train-model", retrain->options.train.model,
                   "what to train: gnn_hetero, gnn_sage or trees_graph")
      ->capture_default_str()
      ->check(CLI::IsMember(fraud::TrainableModels()));
  rcmd->add_option("--window-minutes", retrain->options.train.window_minutes, "minutes per window")
      ->capture_default_str()
      ->check(CLI::Range(1, 1440));
  rcmd->add_option("--rounds", retrain->options.train.trees.rounds, "boosting rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 5000));
  AddGnnFlags(*rcmd, retrain->options.train.gnn);
  rcmd->add_flag("--json", retrain->json, "print the registry record as JSON");
  rcmd->add_option(
      "--dashboard", retrain->dashboard,
      "also post the record to this dashboard (http://host:port; token from $PFAD_DASHBOARD_TOKEN)");
  retrain->storage.AddTo(*rcmd);
  rcmd->footer(std::string(kExitCodesHelp) + " Not promoting is exit 0; the record says why.");
  rcmd->callback([retrain, &exit_code] {
    if (const Status st = RunRetrain(*retrain); !st.ok()) exit_code = ReportError("fraud retrain", st);
  });

  auto models = std::make_shared<ModelsFlags>();
  CLI::App* mcmd = fraud->add_subcommand(
      "models",
      "List the model registry (every retrain's candidate, its PR-AUCs, promoted or not and why) and the "
      "model in use.");
  mcmd->add_option("--model", models->model,
                   "the model file (default: $PFAD_FRAUD_MODEL, else [fraud] model)");
  mcmd->add_flag("--json", models->json, "print the records as a JSON array");
  models->storage.AddTo(*mcmd);
  mcmd->footer(std::string(kExitCodesHelp));
  mcmd->callback([models, &exit_code] {
    if (const Status st = RunModels(*models); !st.ok()) exit_code = ReportError("fraud models", st);
  });

  auto score = std::make_shared<ScoreFlags>();
  CLI::App* scmd = fraud->add_subcommand(
      "score",
      "Score the window that ends with a minute object (the model's number of minutes up to it) and write\n"
      "<minute>.scores.parquet beside it: entity_kind, entity_id, fraud_score, is_fraud, model, "
      "top_features.");
  scmd->add_option("minute", score->minute, "the minute object (local, file://, s3://)")->required();
  scmd->add_option("--model", score->model,
                   "model file from `pfad fraud train` (default: $PFAD_FRAUD_MODEL, else [fraud] model)");
  scmd->add_flag(
      "--report", score->report,
      "add the fraud object to the minute's report object (<minute>.json, from pfad analyze); a missing "
      "or corrupt model then only says why in it (exit 0)");
  scmd->add_flag("--alerts", score->alerts,
                 "publish each newly flagged entity once to the alerts topic (Kafka)");
  scmd->add_option("--alerts-topic", score->alerts_topic,
                   fmt::format("alerts topic (default: $PFAD_FRAUD_ALERTS_TOPIC, else [fraud] alerts_topic, "
                               "else {})",
                               fraud::FraudConfig{}.alerts_topic));
  scmd->add_option(
      "--bootstrap", score->bootstrap,
      "Kafka bootstrap servers of the alerts (default: $PFAD_KAFKA_BOOTSTRAP, else [fraud] bootstrap)");
  scmd->add_flag("--full", score->full,
                 "rebuild the whole window from its minute objects (the reference path) instead of the "
                 "live window and its snapshot (docs/FRAUD.md section 8)");
  scmd->add_flag("--no-snapshot", score->no_snapshot,
                 "keep the live window in this process only: no <minute>.fraud-state is read or written");
  score->engine.AddTo(*scmd);
  score->storage.AddTo(*scmd);
  scmd->footer(std::string(kExitCodesHelp) + " Without --report, a missing or corrupt model is exit 3.");
  scmd->callback([score, &exit_code] {
    if (const Status st = RunScore(*score); !st.ok()) exit_code = ReportError("fraud score", st);
  });
}

}  // namespace pfad::cli
