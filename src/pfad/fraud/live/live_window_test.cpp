// The differential test of docs/FRAUD.md section 8: 30 consecutive minutes with
// fraud actors spanning minute borders, scored by the live window (in one
// process), by the live window through snapshots (a new process per minute, as
// the Airflow task) and by the full rebuild; at every minute the three scores
// objects and report sections agree. The replay has a late rewrite of a middle
// minute (re-run, then the later minutes), a minute without an object, an empty
// minute object, and a window shorter than the model's at the start.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "pfad/fraud/live/live_scorer.h"
#include "pfad/fraud/testing.h"
#include "pfad/gen/minute_writer.h"
#include "pfad/storage/local_store_fixture.h"

namespace pfad::fraud {
namespace {

using analyze::FraudSection;
using storage::ObjectUri;

struct Row {
  double score = 0;
  bool flagged = false;
  bool explained = false;
};
using ScoresByEntity = std::map<std::pair<std::string, std::string>, Row>;

ScoresByEntity ReadScores(const std::string& path) {
  auto file = arrow::io::ReadableFile::Open(path).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
  std::shared_ptr<arrow::Table> table = reader->ReadTable().ValueOrDie()->CombineChunks().ValueOrDie();
  ScoresByEntity out;
  if (table->num_rows() == 0) return out;
  const auto kind =
      std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("entity_kind")->chunk(0));
  const auto id = std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("entity_id")->chunk(0));
  const auto score =
      std::static_pointer_cast<arrow::DoubleArray>(table->GetColumnByName("fraud_score")->chunk(0));
  const auto flagged =
      std::static_pointer_cast<arrow::BooleanArray>(table->GetColumnByName("is_fraud")->chunk(0));
  const auto top =
      std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("top_features")->chunk(0));
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    out[{std::string(kind->GetView(i)), std::string(id->GetView(i))}] = {score->Value(i), flagged->Value(i),
                                                                         !top->GetView(i).empty()};
  }
  return out;
}

// Rewrites a minute object with its first `rows` rows (rows = 0: an empty object).
void Rewrite(const std::string& path, int64_t rows) {
  std::shared_ptr<arrow::Table> table;
  {
    auto file = arrow::io::ReadableFile::Open(path).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
    table = reader->ReadTable().ValueOrDie();
  }
  table = table->Slice(0, std::min(rows, table->num_rows()));
  const std::string tmp = path + ".tmp";
  auto out = arrow::io::FileOutputStream::Open(tmp).ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1 << 20).ok());
  ASSERT_TRUE(out->Close().ok());
  std::filesystem::rename(tmp, path);
}

class LiveWindowTest : public storage::LocalStoreFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  static constexpr int kMinutes = 30;

  std::string Name(int m) const { return fmt::format("2026-11-03_{:02d}-{:02d}", 10 + m / 60, m % 60); }
  std::string Path(const std::string& dir, int m) const {
    return Uri(dir + "/" + Name(m) + ".parquet").FsPath();
  }
};

TEST_P(LiveWindowTest, LiveSnapshotAndFullScoringAgreeAtEveryMinuteOfAReplay) {
  const auto calendar = events::MinuteCalendar::Open().ValueOrDie();
  // The model: trained on other minutes (another seed), a 10-minute window.
  gen::SyntheticMinutes train{.first = calendar.Parse("2026-11-02 10:00").ValueOrDie(),
                              .minutes = 10,
                              .rows = 3000,
                              .generator = {.seed = 21},
                              .fraud_share = 0.1};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("train"), .store = store_}, calendar, train).ok());
  TrainOptions options;
  options.model = GetParam();
  options.trees.rounds = 30;
  options.gnn.epochs = 30;
  options.window_minutes = 10;
  ASSERT_OK_AND_ASSIGN(const auto minutes, ListMinuteObjects(*store_, Uri("train")));
  ASSERT_OK_AND_ASSIGN(const auto model, TrainModel(*store_, minutes, options));
  ASSERT_OK_AND_ASSIGN(const auto bytes, model.Serialize());
  const std::string model_path = Uri("model.pfad").FsPath();
  std::ofstream(model_path, std::ios::binary) << bytes;

  // The replay: 30 minutes of one continuous mix (actors span minute borders), in
  // three identical directories, one per way of scoring.
  gen::SyntheticMinutes spec{.first = calendar.Parse("2026-11-03 10:00").ValueOrDie(),
                             .minutes = kMinutes,
                             .rows = 1500,
                             .generator = {.seed = 22},
                             .fraud_share = 0.08};
  ASSERT_TRUE(gen::WriteSyntheticMinutes({.target = Uri("live"), .store = store_}, calendar, spec).ok());
  std::filesystem::remove(Path("live", 20));  // a minute without an object
  Rewrite(Path("live", 21), 0);               // and one without events
  for (const char* dir : {"snap", "full"}) {
    std::filesystem::copy(Uri("live").FsPath(), Uri(dir).FsPath());
  }

  int64_t alerts[3] = {0, 0, 0};
  const auto sink = [](int64_t& count) {
    return [&count](const std::vector<Alert>& a) {
      count += static_cast<int64_t>(a.size());
      return Status::OK();
    };
  };
  LiveScorer live({.model = model_path}, sink(alerts[0]));
  LiveScorer full({.model = model_path, .full = true}, sink(alerts[2]));
  int64_t multi_slice = 0;

  const auto score = [&](int m) {
    SCOPED_TRACE("minute " + Name(m));
    if (m == 20) return;  // no object: nothing is scored (the report says "No data")
    LiveScorer::Timing timing;
    ASSERT_OK_AND_ASSIGN(const FraudSection a, live.ScoreMinute(*store_, Uri("live/" + Name(m) + ".parquet"),
                                                                DefaultClock(), &timing));
    EXPECT_TRUE(timing.live);
    multi_slice += timing.multi_slice_entities;
    // A new process per minute: the window comes from the previous minute's snapshot.
    LiveScorer per_minute({.model = model_path, .snapshots = true}, sink(alerts[1]));
    LiveScorer::Timing snap_timing;
    ASSERT_OK_AND_ASSIGN(
        const FraudSection b,
        per_minute.ScoreMinute(*store_, Uri("snap/" + Name(m) + ".parquet"), DefaultClock(), &snap_timing));
    EXPECT_GT(snap_timing.snapshot_bytes, 0);  // saved (and loaded, after the first minute)
    ASSERT_OK_AND_ASSIGN(const FraudSection c,
                         full.ScoreMinute(*store_, Uri("full/" + Name(m) + ".parquet")));
    for (const FraudSection* s : {&a, &b, &c}) ASSERT_EQ(s->state, FraudSection::State::kScored) << s->reason;
    for (const FraudSection* s : {&a, &b}) {
      EXPECT_EQ(s->window, c.window);
      EXPECT_EQ(s->scored[0], c.scored[0]);
      EXPECT_EQ(s->scored[1], c.scored[1]);
      EXPECT_EQ(s->flagged[0], c.flagged[0]);
      EXPECT_EQ(s->flagged[1], c.flagged[1]);
      EXPECT_EQ(s->new_alerts, c.new_alerts);
      EXPECT_EQ(s->histogram[0], c.histogram[0]);
      EXPECT_EQ(s->histogram[1], c.histogram[1]);
    }
    const auto expected = ReadScores(Uri("full/" + Name(m) + ".scores.parquet").FsPath());
    for (const char* dir : {"live", "snap"}) {
      const auto got = ReadScores(Uri(std::string(dir) + "/" + Name(m) + ".scores.parquet").FsPath());
      ASSERT_EQ(got.size(), expected.size()) << dir;
      for (const auto& [key, row] : expected) {
        const auto it = got.find(key);
        ASSERT_NE(it, got.end()) << dir << " " << key.second;
        EXPECT_NEAR(it->second.score, row.score, 1e-9 * std::max(1.0, std::abs(row.score))) << dir;
        EXPECT_EQ(it->second.flagged, row.flagged) << dir << " " << key.second;
        EXPECT_EQ(it->second.explained, row.explained) << dir << " " << key.second;
        if (row.flagged) {
          EXPECT_TRUE(row.explained);
        }
      }
    }
  };

  for (int m = 0; m < kMinutes; ++m) {
    score(m);
    if (HasFatalFailure()) return;
    if (m == 15) {
      // Late data: minute 12 is rewritten; it is scored again, then the minutes after it.
      for (const char* dir : {"live", "snap", "full"}) Rewrite(Path(dir, 12), 700);
      for (int again = 12; again <= 15; ++again) {
        score(again);
        if (HasFatalFailure()) return;
      }
    }
  }
  EXPECT_EQ(alerts[0], alerts[2]);
  EXPECT_EQ(alerts[1], alerts[2]);
  EXPECT_GT(alerts[2], 0);
  EXPECT_GT(multi_slice, 0);  // actors did span minute borders
}

INSTANTIATE_TEST_SUITE_P(EveryModel, LiveWindowTest, ::testing::Values("trees_graph", "gnn_hetero"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pfad::fraud
