#include "pfad/fraud/loop/retrain.h"

#include <algorithm>
#include <unordered_map>

#include "pfad/common/http_client.h"
#include "pfad/common/log.h"
#include "pfad/events/minute.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/live/live_scorer.h"
#include "pfad/fraud/models/metrics.h"
#include "pfad/fraud/models/scoring.h"
#include "pfad/labels/label_store.h"

namespace pfad::fraud {
namespace {

using Json = nlohmann::ordered_json;

Json CountsJson(const LabelCounts& c) {
  return Json{{"rows_beside_minutes", c.beside},
              {"rows_from_store", c.from_store},
              {"positive", {{"user", c.positive[0]}, {"session", c.positive[1]}}},
              {"negative", {{"user", c.negative[0]}, {"session", c.negative[1]}}}};
}

LabelCounts CountsFromJson(const nlohmann::json& j) {
  LabelCounts c;
  c.beside = j.value("rows_beside_minutes", int64_t{0});
  c.from_store = j.value("rows_from_store", int64_t{0});
  for (int k = 0; k < 2; ++k) {
    const char* kind = k == 0 ? "user" : "session";
    if (j.contains("positive")) c.positive[k] = j["positive"].value(kind, int64_t{0});
    if (j.contains("negative")) c.negative[k] = j["negative"].value(kind, int64_t{0});
  }
  return c;
}

Json Optional(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::string Percent(double v) { return fmt::format("{:.4f}", v); }

Result<std::shared_ptr<storage::ObjectStore>> LocalStore(const std::string& path) {
  PFAD_ASSIGN_OR_RAISE(auto uri, storage::ObjectUri::Parse(path));
  return storage::ObjectStore::Open(uri, storage::StorageConfig{});
}

Status AppendRecord(const std::string& model_file, const ModelRecord& record) {
  // Read, add, write the whole file and rename it into place: a kill leaves the old or the new.
  PFAD_ASSIGN_OR_RAISE(auto store, LocalStore(model_file));
  PFAD_ASSIGN_OR_RAISE(auto uri, storage::ObjectUri::Parse(RegistryPath(model_file)));
  PFAD_ASSIGN_OR_RAISE(auto info, store->Stat(uri));
  std::string text;
  if (info.exists) {
    PFAD_ASSIGN_OR_RAISE(text, store->Get(uri));
  }
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  text += record.ToJson().dump() + "\n";
  return store->Put(uri, text);
}

}  // namespace

nlohmann::ordered_json ModelRecord::ToJson() const {
  return Json{
      {"version", version},
      {"created_ms", created_ms},
      {"model", model},
      {"candidate_file", candidate_file},
      {"minutes", minutes},
      {"train", {{"first", train_first}, {"last", train_last}, {"minutes", train_minutes}}},
      {"holdout", {{"first", holdout_first}, {"last", holdout_last}, {"minutes", holdout_minutes}}},
      {"labels", {{"train", CountsJson(train_labels)}, {"holdout", CountsJson(holdout_labels)}}},
      {"pr_auc", {{"challenger", Optional(challenger_pr_auc)}, {"champion", Optional(champion_pr_auc)}}},
      {"alert_precision",
       {{"challenger", Optional(challenger_precision)}, {"champion", Optional(champion_precision)}}},
      {"champion", champion},
      {"promoted", promoted},
      {"reason", reason}};
}

Result<ModelRecord> ModelRecord::FromJson(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number_integer())
    return Status::Invalid("a registry record needs an integer \"version\"");
  try {
    ModelRecord r;
    r.version = doc["version"].get<int>();
    r.created_ms = doc.value("created_ms", int64_t{0});
    r.model = doc.value("model", "");
    r.candidate_file = doc.value("candidate_file", "");
    r.minutes = doc.value("minutes", "");
    const auto train = doc.value("train", nlohmann::json::object());
    const auto holdout = doc.value("holdout", nlohmann::json::object());
    r.train_first = train.value("first", "");
    r.train_last = train.value("last", "");
    r.train_minutes = train.value("minutes", 0);
    r.holdout_first = holdout.value("first", "");
    r.holdout_last = holdout.value("last", "");
    r.holdout_minutes = holdout.value("minutes", 0);
    const auto labels = doc.value("labels", nlohmann::json::object());
    r.train_labels = CountsFromJson(labels.value("train", nlohmann::json::object()));
    r.holdout_labels = CountsFromJson(labels.value("holdout", nlohmann::json::object()));
    const auto auc = doc.value("pr_auc", nlohmann::json::object());
    if (auc.contains("challenger") && auc["challenger"].is_number())
      r.challenger_pr_auc = auc["challenger"].get<double>();
    if (auc.contains("champion") && auc["champion"].is_number())
      r.champion_pr_auc = auc["champion"].get<double>();
    const auto precision = doc.value("alert_precision", nlohmann::json::object());
    if (precision.contains("challenger") && precision["challenger"].is_number())
      r.challenger_precision = precision["challenger"].get<double>();
    if (precision.contains("champion") && precision["champion"].is_number())
      r.champion_precision = precision["champion"].get<double>();
    r.champion = doc.value("champion", "");
    r.promoted = doc.value("promoted", false);
    r.reason = doc.value("reason", "");
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Status::Invalid("a registry record has a field of the wrong type: ", e.what());
  }
}

Status PostModelRecord(const std::string& dashboard_url, const std::string& token,
                       const std::string& model_file, const ModelRecord& record) {
  HttpRequest request;
  request.method = "POST";
  request.url = dashboard_url + "/models";
  request.body = Json{{"model_file", model_file}, {"record", record.ToJson()}}.dump();
  request.headers.push_back("Content-Type: application/json");
  if (!token.empty()) request.headers.push_back("Authorization: Bearer " + token);
  PFAD_ASSIGN_OR_RAISE(const auto response, SendHttp(request));
  if (response.status != 200)
    return Status::IOError(request.url, ": HTTP ", response.status, " ", response.body.substr(0, 300));
  return Status::OK();
}

std::string RegistryPath(const std::string& model_file) { return model_file + ".registry.jsonl"; }

Result<std::vector<ModelRecord>> ReadRegistry(const std::string& model_file) {
  PFAD_ASSIGN_OR_RAISE(auto store, LocalStore(model_file));
  PFAD_ASSIGN_OR_RAISE(auto uri, storage::ObjectUri::Parse(RegistryPath(model_file)));
  PFAD_ASSIGN_OR_RAISE(auto info, store->Stat(uri));
  std::vector<ModelRecord> out;
  if (!info.exists) return out;
  PFAD_ASSIGN_OR_RAISE(const auto text, store->Get(uri));
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const auto doc = nlohmann::json::parse(line, nullptr, false);
    auto record = ModelRecord::FromJson(doc);
    if (doc.is_discarded() || !record.ok()) {
      return Status::Invalid(uri.ToString(), " line ", line_no, ": not a registry record",
                             doc.is_discarded() ? "" : ": " + record.status().message());
    }
    out.push_back(*std::move(record));
  }
  return out;
}

Result<Judgement> JudgeOnHeldOut(const storage::ObjectStore& store, const FraudModel& model,
                                 const std::vector<storage::ObjectUri>& minutes, const LabelIndex& labels) {
  double threshold[2] = {0.5, 0.5};
  for (const auto& part : model.parts) threshold[static_cast<int>(part.kind)] = part.threshold;
  std::unordered_map<std::string, double> best[2];
  const auto w = static_cast<size_t>(std::max(1, model.window_minutes));
  for (size_t start = 0; start < minutes.size(); start += w) {
    const std::vector<storage::ObjectUri> window(
        minutes.begin() + static_cast<long>(start),
        minutes.begin() + static_cast<long>(std::min(minutes.size(), start + w)));
    PFAD_ASSIGN_OR_RAISE(const auto events, ReadWindow(store, window));
    PFAD_ASSIGN_OR_RAISE(const auto scores, ScoreWindow(model, events, /*top=*/0));
    for (const auto& s : scores) {
      auto& slot = best[static_cast<int>(s.kind)][s.entity_id];
      slot = std::max(slot, s.fraud_score);
    }
  }
  Judgement out;
  int64_t flagged_fraud = 0;
  double sum = 0;
  int kinds = 0;
  for (int k = 0; k < 2; ++k) {
    std::vector<double> scores;
    std::vector<uint8_t> truth;
    for (const auto& [id, score] : best[k]) {
      scores.push_back(score);
      const auto it = labels.by_kind[k].find(id);
      truth.push_back(it != labels.by_kind[k].end() && events::IsFraud(it->second));
      if (score >= threshold[k]) {
        ++out.flagged;
        flagged_fraud += truth.back();
      }
    }
    const bool both =
        std::count(truth.begin(), truth.end(), 1) > 0 && std::count(truth.begin(), truth.end(), 0) > 0;
    if (!both) continue;
    sum += AveragePrecision(scores, truth);
    ++kinds;
  }
  if (kinds > 0) out.pr_auc = sum / kinds;
  if (out.flagged > 0) out.precision = static_cast<double>(flagged_fraud) / static_cast<double>(out.flagged);
  return out;
}

Result<ModelRecord> Retrain(const RetrainOptions& options, const Clock& clock) {
  if (options.model_file.empty())
    return Status::Invalid("no model file: give --model, [fraud] model or PFAD_FRAUD_MODEL");
  if (options.hours < 1) return Status::Invalid("retrain hours must be at least 1");
  if (options.holdout_minutes < 1) return Status::Invalid("held-out minutes must be at least 1");
  PFAD_ASSIGN_OR_RAISE(auto registry, ReadRegistry(options.model_file));
  ModelRecord record;
  record.version = registry.empty() ? 1 : registry.back().version + 1;
  record.created_ms = clock.NowMillis();
  record.minutes = options.minutes.ToString();
  const auto log = Logger("fraud");
  const auto finish = [&](std::string reason) -> Result<ModelRecord> {
    record.reason = std::move(reason);
    PFAD_RETURN_NOT_OK(AppendRecord(options.model_file, record));
    log->info("retrain v{}: {} ({})", record.version, record.promoted ? "promoted" : "not promoted",
              record.reason);
    return record;
  };

  // The last `hours` of minutes, by their names' times, the newest `holdout_minutes` held out.
  PFAD_ASSIGN_OR_RAISE(auto store, storage::ObjectStore::Open(options.minutes, options.storage));
  PFAD_ASSIGN_OR_RAISE(const auto all, ListMinuteObjects(*store, options.minutes));
  if (all.empty()) return finish("no minute objects under " + options.minutes.ToString());
  PFAD_ASSIGN_OR_RAISE(const auto calendar, events::MinuteCalendar::Open());
  PFAD_ASSIGN_OR_RAISE(const auto newest, calendar.Parse(MinuteStem(all.back())));
  const int64_t from_ms = newest.end_ms - int64_t{options.hours} * 3'600'000;
  const int64_t holdout_ms = newest.end_ms - int64_t{options.holdout_minutes} * 60'000;
  std::vector<storage::ObjectUri> train, holdout;
  for (const auto& uri : all) {
    auto m = calendar.Parse(MinuteStem(uri));
    if (!m.ok() || m->start_ms < from_ms) continue;
    (m->start_ms >= holdout_ms ? holdout : train).push_back(uri);
  }
  record.train_minutes = static_cast<int>(train.size());
  record.holdout_minutes = static_cast<int>(holdout.size());
  if (!holdout.empty()) {
    record.holdout_first = MinuteStem(holdout.front());
    record.holdout_last = MinuteStem(holdout.back());
  }
  if (train.empty()) {
    return finish(fmt::format("no minutes to train on: the last {} h hold {} minutes, all held out",
                              options.hours, holdout.size()));
  }
  record.train_first = MinuteStem(train.front());
  record.train_last = MinuteStem(train.back());
  const auto prefix = options.labels.value_or(labels::DefaultLabelsPrefix(options.minutes));

  // Labels first: without a positive one there is nothing to learn, and that is said, not thrown.
  auto train_labels = ReadTrainingLabels(*store, train, prefix, &record.train_labels);
  if (!train_labels.ok())
    return finish("no labels for the training minutes: " + train_labels.status().message());
  if (record.train_labels.positive[0] + record.train_labels.positive[1] == 0)
    return finish("no positive label in the training range " + record.train_first + " to " +
                  record.train_last);
  LabelIndex holdout_labels;
  if (!holdout.empty()) {
    auto read = ReadTrainingLabels(*store, holdout, prefix, &record.holdout_labels);
    if (read.ok()) holdout_labels = *std::move(read);
  }

  TrainOptions train_options = options.train;
  train_options.labels = prefix;
  auto challenger = TrainModel(*store, train, train_options);
  if (!challenger.ok()) return finish("training failed: " + challenger.status().message());
  challenger->trained_on =
      fmt::format("{} ({} to {}, labels {}, registry v{})", options.minutes.ToString(), record.train_first,
                  record.train_last, prefix.ToString(), record.version);
  record.model = challenger->Label();
  PFAD_ASSIGN_OR_RAISE(const auto bytes, challenger->Serialize());
  PFAD_ASSIGN_OR_RAISE(auto files, LocalStore(options.model_file));
  record.candidate_file = fmt::format("{}.v{}", options.model_file, record.version);
  PFAD_ASSIGN_OR_RAISE(const auto candidate_uri, storage::ObjectUri::Parse(record.candidate_file));
  PFAD_RETURN_NOT_OK(files->Put(candidate_uri, bytes));

  std::optional<FraudModel> champion;
  if (auto loaded = LoadModel(options.model_file); loaded.ok()) {
    champion = *std::move(loaded);
    record.champion = champion->Label();
  } else if (!loaded.status().IsIOError()) {
    log->warn("retrain: the champion cannot be read, the challenger may replace it: {}",
              loaded.status().message());
  }
  if (holdout.empty()) return finish("no held-out minutes to judge on");
  PFAD_ASSIGN_OR_RAISE(const auto challenger_judged,
                       JudgeOnHeldOut(*store, *challenger, holdout, holdout_labels));
  record.challenger_pr_auc = challenger_judged.pr_auc;
  record.challenger_precision = challenger_judged.precision;
  if (champion) {
    PFAD_ASSIGN_OR_RAISE(const auto champion_judged,
                         JudgeOnHeldOut(*store, *champion, holdout, holdout_labels));
    record.champion_pr_auc = champion_judged.pr_auc;
    record.champion_precision = champion_judged.precision;
  }
  if (!record.challenger_pr_auc)
    return finish("no positive label in the held-out hour " + record.holdout_first + " to " +
                  record.holdout_last);
  if (champion && record.champion_pr_auc &&
      *record.challenger_pr_auc < *record.champion_pr_auc + options.margin) {
    return finish(fmt::format("challenger PR-AUC {} below the champion's {} + margin {}",
                              Percent(*record.challenger_pr_auc), Percent(*record.champion_pr_auc),
                              options.margin));
  }
  // Promote: the whole file renamed into place; `pfad run` sees a new file and reloads it.
  PFAD_ASSIGN_OR_RAISE(const auto model_uri, storage::ObjectUri::Parse(options.model_file));
  PFAD_RETURN_NOT_OK(files->Put(model_uri, bytes));
  record.promoted = true;
  if (!champion) return finish("no champion yet (" + options.model_file + " absent or unreadable)");
  if (!record.champion_pr_auc) {
    return finish(fmt::format("challenger PR-AUC {}; the champion could not be measured",
                              Percent(*record.challenger_pr_auc)));
  }
  return finish(fmt::format("challenger PR-AUC {} at least the champion's {} + margin {}",
                            Percent(*record.challenger_pr_auc), Percent(*record.champion_pr_auc),
                            options.margin));
}

}  // namespace pfad::fraud
