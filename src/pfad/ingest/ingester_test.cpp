// The ingest loop with a fake consumer, a fake producer, an in-memory sink and a
// ManualClock: the exactly-once rules that the integration tests check end to
// end, here one at a time.
#include "pfad/ingest/ingester.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "pfad/events/avro.h"
#include "pfad/events/generator.h"

namespace pfad::ingest {
namespace {

using std::chrono::milliseconds;
constexpr int64_t kT0 = 1'700'000'040'000;  // a minute start (Tehran minutes start on UTC minutes)
constexpr int32_t kSchemaId = 1;

class FakeConsumer final : public kafka::Consumer {
 public:
  std::function<void(const kafka::Rebalance&)> on_rebalance;
  std::deque<std::pair<int64_t, std::string>> queue;  // offset, value (partition 0)
  std::vector<std::vector<kafka::TopicPartition>> commits;
  std::map<int32_t, int64_t> committed;
  int64_t next_offset = 0;  // the offset the next appended message gets
  int64_t position = 0;
  bool subscribed = false, assigned = false;

  void Append(std::string value) { queue.emplace_back(next_offset++, std::move(value)); }

  Status Subscribe(const std::string&) override {
    subscribed = true;
    return Status::OK();
  }
  Status Assign(const std::vector<kafka::TopicPartition>&) override { return Status::OK(); }
  void Poll(milliseconds, size_t max, std::vector<kafka::Message>& out) override {
    if (subscribed && !assigned) {
      assigned = true;
      on_rebalance(
          {.kind = kafka::RebalanceKind::kAssigned, .partitions = {{.topic = "events", .partition = 0}}});
    }
    if (queue.empty()) std::this_thread::sleep_for(milliseconds(1));  // what a poll timeout would do
    while (!queue.empty() && out.size() < max) {
      auto* owned = new std::string(std::move(queue.front().second));
      kafka::Message& m = out.emplace_back();
      m.owner = {owned, [](void* p) { delete static_cast<std::string*>(p); }};
      m.topic = "events";
      m.key = "key";
      m.value = *owned;
      m.partition = 0;
      m.offset = queue.front().first;
      m.timestamp_ms = kT0;
      position = m.offset + 1;
      queue.pop_front();
    }
  }
  Status Commit(const std::vector<kafka::TopicPartition>& offsets, bool) override {
    commits.push_back(offsets);
    for (const auto& tp : offsets) committed[tp.partition] = tp.offset;
    return Status::OK();
  }
  Result<std::vector<kafka::TopicPartition>> Committed(const std::vector<kafka::TopicPartition>& partitions,
                                                       milliseconds) override {
    auto out = partitions;
    for (auto& tp : out) tp.offset = committed.contains(tp.partition) ? committed[tp.partition] : -1001;
    return out;
  }
  std::optional<int64_t> Position(const std::string&, int32_t) override { return position; }
  Result<kafka::Watermarks> QueryWatermarks(const std::string&, int32_t, milliseconds) override {
    return kafka::Watermarks{.low = 0, .high = next_offset};
  }
  Result<int32_t> WaitForTopic(const std::string&, milliseconds) override { return 1; }
  Status FatalError() const override { return Status::OK(); }
  void Close() override {}

  // The largest offset ever committed for partition 0 (-1: none).
  [[nodiscard]] int64_t MaxCommitted() const {
    int64_t max = -1;
    for (const auto& c : commits) {
      for (const auto& tp : c) max = std::max(max, tp.offset);
    }
    return max;
  }
};

class FakeProducer final : public kafka::Producer {
 public:
  struct Sent {
    std::string topic, key, value;
    kafka::Headers headers;
  };
  std::vector<Sent> sent;
  bool hold = false;  // deliveries wait until released
  int64_t unacked = 0;

  Status Produce(const std::string& topic, const kafka::OutgoingMessage& m) override {
    sent.push_back(
        {topic, std::string(m.key), std::string(m.value), m.headers ? *m.headers : kafka::Headers{}});
    CountQueued(1);
    ++unacked;
    if (!hold) AckAll();
    return Status::OK();
  }
  void Poll(milliseconds) override {}
  Status Flush(milliseconds) override {
    if (!hold) AckAll();
    return unacked == 0 ? Status::OK() : Status::IOError("still in flight");
  }
  Result<int32_t> WaitForTopic(const std::string&, milliseconds) override { return 1; }
  int32_t PartitionFor(const std::string&, std::string_view, int32_t) override { return 0; }
  Status FatalError() const override { return Status::OK(); }
  void AckAll() {
    for (; unacked > 0; --unacked) CountDelivery({});
  }
  [[nodiscard]] std::vector<Sent> To(const std::string& topic) const {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.topic == topic) out.push_back(s);
    }
    return out;
  }
};

// Stores event ids per minute; can be told to fail.
struct MemoryStore {
  std::mutex mutex;
  std::map<std::string, std::set<std::string>> minutes;
  int stores = 0;
  bool fail = false;
};

class MemorySink final : public MinuteSink {
 public:
  explicit MemorySink(MemoryStore& store) : store_(store) {}
  std::string Name() const override { return "memory"; }
  Status Check() override { return Status::OK(); }
  Result<StoredMinute> Store(const MinuteWindow& window, int64_t) override {
    std::lock_guard lock(store_.mutex);
    ++store_.stores;
    if (store_.fail) return Status::IOError("storage is down");
    const std::string name = window.minute.Name();
    const bool existed = store_.minutes.contains(name);
    auto& ids = store_.minutes[name];
    int64_t added = 0;
    for (const auto& e : window.events) added += ids.insert(e.event_id.ToString()).second ? 1 : 0;
    return StoredMinute{.object = storage::ObjectUri::Parse("/sink/" + name + ".parquet").ValueOrDie(),
                        .minute = name,
                        .rows = static_cast<int64_t>(ids.size()),
                        .added = added,
                        .update = existed};
  }

 private:
  MemoryStore& store_;
};

class IngesterTest : public ::testing::Test {
 protected:
  IngesterTest()
      : clock_(kT0 + 10'000),
        schemas_(
            [](int32_t id) -> Result<std::string> {
              if (id != kSchemaId) return Status::KeyError("no schema ", id);
              return std::string(events::EventAvroSchema());
            },
            stop_, clock_) {
    options_.topic = "events";
    options_ = WithDefaults(options_);
    std::vector<std::unique_ptr<MinuteSink>> sinks;
    sinks.push_back(std::make_unique<MemorySink>(store_));
    ingester_ = std::make_unique<Ingester>(options_, consumer_, producer_, schemas_, std::move(sinks),
                                           events::MinuteCalendar::Open().ValueOrDie(), clock_, stop_);
    consumer_.on_rebalance = [this](const kafka::Rebalance& r) { ingester_->OnRebalance(r); };
    EXPECT_TRUE(ingester_->Open().ok());
  }
  ~IngesterTest() override {
    stop_ = true;
    (void)ingester_->Finish();
  }

  // A framed event of the minute starting at kT0 (+ `minutes`).
  std::string Frame(int64_t ts) {
    std::string frame;
    events::AppendConfluentHeader(kSchemaId, frame);
    events::AppendAvro(generator_.Next(ts), frame);
    return frame;
  }
  // Steps the loop until `done` (bounded: the writer thread needs a moment).
  template <typename F>
  bool StepUntil(F done) {
    for (int i = 0; i < 2000; ++i) {
      if (done()) return true;
      ingester_->Step();
    }
    return done();
  }
  void StepFor(int steps) {
    for (int i = 0; i < steps; ++i) ingester_->Step();
  }
  int Stores() {
    std::lock_guard lock(store_.mutex);
    return store_.stores;
  }
  size_t Stored(const std::string& minute) {
    std::lock_guard lock(store_.mutex);
    return store_.minutes.contains(minute) ? store_.minutes[minute].size() : 0;
  }

  std::atomic<bool> stop_{false};
  ManualClock clock_;
  WriterSchemas schemas_;
  IngestOptions options_;
  FakeConsumer consumer_;
  FakeProducer producer_;
  MemoryStore store_;
  events::EventGenerator generator_{{.seed = 7}};
  std::unique_ptr<Ingester> ingester_;
  const std::string minute_ = events::MinuteCalendar::Open().ValueOrDie().MinuteName(kT0);
};

TEST_F(IngesterTest, CommitNeverPassesAnOffsetThatIsNotStored) {
  for (int i = 0; i < 5; ++i) consumer_.Append(Frame(kT0 + i * 1000));
  StepFor(5);
  clock_.Advance(2000);
  StepFor(5);
  EXPECT_LE(consumer_.MaxCommitted(), 0) << "the open minute holds offset 0";

  store_.fail = true;  // the minute closes, but storing it fails
  clock_.Set(kT0 + 70'000);
  ASSERT_TRUE(StepUntil([&] { return Stores() >= 1; }));
  clock_.Advance(1500);
  StepFor(20);
  EXPECT_EQ(Stored(minute_), 0u);
  EXPECT_LE(consumer_.MaxCommitted(), 0) << "nothing is committed past a failed write";
  EXPECT_GE(ingester_->metrics().write_failures.load(), 1);

  store_.fail = false;  // storage is back: the retry stores the minute, then the offsets go
  clock_.Advance(11'000);
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 5; }));
  clock_.Advance(1500);
  ASSERT_TRUE(StepUntil([&] { return consumer_.MaxCommitted() == 5; }));
  ASSERT_EQ(producer_.To(options_.windows_topic).size(), 1u);
  const auto announced =
      events::WindowAnnouncement::Parse(producer_.To(options_.windows_topic)[0].value).ValueOrDie();
  EXPECT_EQ(announced.minute, minute_);
  EXPECT_EQ(announced.added, 5);
  EXPECT_FALSE(announced.update);
}

TEST_F(IngesterTest, ALateEventRewritesItsMinute) {
  for (int i = 0; i < 3; ++i) consumer_.Append(Frame(kT0 + i * 1000));
  StepFor(3);
  clock_.Set(kT0 + 70'000);
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 3; }));

  consumer_.Append(Frame(kT0 + 30'000));  // the minute is stored: this one is late
  clock_.Advance(500);
  StepFor(3);
  // With the partition idle again (its watermark alone never passes the minute),
  // the clock closes the minute a second time: the write merges into the object.
  clock_.Advance(6000);
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 4; }));
  clock_.Advance(1500);
  ASSERT_TRUE(StepUntil([&] { return consumer_.MaxCommitted() == 4; }));
  const auto announcements = producer_.To(options_.windows_topic);
  ASSERT_EQ(announcements.size(), 2u);
  const auto rewrite = events::WindowAnnouncement::Parse(announcements[1].value).ValueOrDie();
  EXPECT_TRUE(rewrite.update);
  EXPECT_EQ(rewrite.added, 1);
  EXPECT_EQ(rewrite.rows, 4);
  EXPECT_EQ(ingester_->metrics().object_updates.load(), 1);
}

TEST_F(IngesterTest, APoisonMessageGoesToTheDlqAndIsCommittedOnlyOnceAcknowledged) {
  producer_.hold = true;
  consumer_.Append("not a confluent frame");
  consumer_.Append(Frame(kT0 + 1000));
  StepFor(5);
  const auto dlq = producer_.To(options_.dlq_topic);
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].value, "not a confluent frame");
  EXPECT_EQ(dlq[0].key, "key");
  const std::map<std::string, std::string> headers(dlq[0].headers.begin(), dlq[0].headers.end());
  EXPECT_EQ(headers.at("pfad.error.kind"), "bad-frame");
  EXPECT_EQ(headers.at("pfad.source.topic"), "events");
  EXPECT_EQ(headers.at("pfad.source.offset"), "0");
  EXPECT_EQ(ingester_->metrics().dlq.load(), 1);

  clock_.Set(kT0 + 70'000);
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 1; }));
  clock_.Advance(1500);
  StepFor(10);
  EXPECT_EQ(consumer_.MaxCommitted(), -1) << "the DLQ message is not acknowledged yet";
  producer_.hold = false;
  producer_.AckAll();
  clock_.Advance(1500);
  ASSERT_TRUE(StepUntil([&] { return consumer_.MaxCommitted() == 2; }));
}

TEST_F(IngesterTest, ARevokeStoresNothingHalfDoneAndCommitsOnlyWhatIsStored) {
  for (int i = 0; i < 10; ++i) consumer_.Append(Frame(kT0 + i * 1000));
  StepFor(5);
  EXPECT_EQ(ingester_->windows().buffered_events(), 10);
  ingester_->OnRebalance(
      {.kind = kafka::RebalanceKind::kRevoked, .partitions = {{.topic = "events", .partition = 0}}});
  EXPECT_EQ(ingester_->windows().open_windows(), 0u);
  EXPECT_EQ(ingester_->windows().buffered_events(), 0);
  clock_.Set(kT0 + 70'000);
  StepFor(20);
  EXPECT_EQ(Stores(), 0) << "an open minute is dropped on revoke, to be re-read by the next owner";
  EXPECT_LE(consumer_.MaxCommitted(), 0);
}

TEST_F(IngesterTest, AMinuteLargerThanTheBufferBoundStillCloses) {
  // A minute of 10 events with reading bounded at 5 held events: reading must go
  // on (storage holds nothing up), or the minute never sees the next one begin.
  options_.max_buffered_events = 5;  // the ingester reads the options it was given
  for (int i = 0; i < 10; ++i) consumer_.Append(Frame(kT0 + i * 1000));
  StepFor(3);
  EXPECT_EQ(ingester_->windows().buffered_events(), 10);
  consumer_.Append(Frame(kT0 + 70'000));  // the next minute, past the grace
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 10; }));
}

TEST_F(IngesterTest, ReadingPausesWhileFailedWritesHoldTheBufferBound) {
  options_.max_buffered_events = 5;
  store_.fail = true;
  for (int i = 0; i < 10; ++i) consumer_.Append(Frame(kT0 + i * 1000));
  consumer_.Append(Frame(kT0 + 70'000));
  ASSERT_TRUE(StepUntil([&] { return ingester_->metrics().write_failures.load() >= 1; }));
  for (int i = 0; i < 5; ++i) consumer_.Append(Frame(kT0 + 71'000 + i));
  StepFor(10);  // the clock stands still: the retry's backoff has not run out
  EXPECT_EQ(consumer_.queue.size(), 5u) << "nothing more is read while storage holds the events up";
  store_.fail = false;
  clock_.Advance(11'000);
  ASSERT_TRUE(StepUntil([&] { return Stored(minute_) == 10 && consumer_.queue.empty(); }));
}

TEST(IngestOptions, ResolveReadsTheFileThenTheEnvironment) {
  ::unsetenv("PFAD_REGISTRY_URL");
  ::unsetenv("PFAD_INGEST_SINK");
  const auto file = ConfigFile::Parse(R"(
[ingest]
registry = "http://file:8081"
sink = "s3://bucket/minutes"
[kafka]
"linger.ms" = 7
)")
                        .ValueOrDie();
  auto options = IngestOptions::Resolve(file).ValueOrDie();
  EXPECT_EQ(options.registry_url, "http://file:8081");
  EXPECT_EQ(options.sink.ToString(), "s3://bucket/minutes");
  EXPECT_EQ(options.properties.at("linger.ms"), "7");
  EXPECT_EQ(options.windows.grace_ms, 5000) << "defaults are the library's";
  ::setenv("PFAD_REGISTRY_URL", "http://env:8081", 1);
  options = IngestOptions::Resolve(file).ValueOrDie();
  EXPECT_EQ(options.registry_url, "http://env:8081");
  ::unsetenv("PFAD_REGISTRY_URL");
  EXPECT_FALSE(IngestOptions::Resolve(ConfigFile::Parse("[ingest]\nsink = 5\n").ValueOrDie()).ok());
}

TEST(WriterSchemas, AnUnreachableRegistryIsWaitedForNeverBlamedOnTheMessage) {
  std::atomic<bool> stop{false};
  ManualClock clock(0);
  int calls = 0;
  WriterSchemas schemas(
      [&](int32_t) -> Result<std::string> {
        if (++calls < 4) return Status::IOError("connection refused");
        return std::string(events::EventAvroSchema());
      },
      stop, clock);
  EXPECT_TRUE(schemas.Decoder(kSchemaId).ok());
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(clock.NowMillis(), 500 + 1000 + 2000) << "backoff doubles from 0.5 s, on the injected clock";
  EXPECT_TRUE(schemas.Decoder(kSchemaId).ok());
  EXPECT_EQ(calls, 4) << "cached";
}

TEST_F(IngesterTest, AnUnknownSchemaIdGoesToTheDlq) {
  std::string frame;
  events::AppendConfluentHeader(99, frame);
  frame += "x";
  consumer_.Append(frame);
  StepFor(3);
  const auto dlq = producer_.To(options_.dlq_topic);
  ASSERT_EQ(dlq.size(), 1u);
  const std::map<std::string, std::string> headers(dlq[0].headers.begin(), dlq[0].headers.end());
  EXPECT_EQ(headers.at("pfad.error.kind"), "unknown-schema");
}

// A sink that stores only once every other RendezvousSink has started storing
// too: stored one after another they would give up and fail.
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
};

class RendezvousSink final : public MinuteSink {
 public:
  RendezvousSink(Rendezvous& meeting, int sinks, std::string name, bool fail = false)
      : meeting_(meeting), sinks_(sinks), name_(std::move(name)), fail_(fail) {}
  std::string Name() const override { return name_; }
  Status Check() override { return Status::OK(); }
  Result<StoredMinute> Store(const MinuteWindow& window, int64_t) override {
    std::unique_lock lock(meeting_.mutex);
    ++meeting_.arrived;
    meeting_.cv.notify_all();
    if (!meeting_.cv.wait_for(lock, std::chrono::seconds(30), [&] { return meeting_.arrived >= sinks_; })) {
      return Status::IOError("stored alone: the other sinks did not store at the same time");
    }
    if (fail_) return Status::IOError("down");
    return StoredMinute{.minute = window.minute.Name(), .rows = static_cast<int64_t>(window.events.size())};
  }

 private:
  Rendezvous& meeting_;
  int sinks_;
  std::string name_;
  bool fail_;
};

WriteDone WriteOneWindow(std::vector<std::unique_ptr<MinuteSink>> sinks) {
  ManualClock clock(kT0);
  WindowWriter writer(std::move(sinks), clock);
  MinuteWindow window{.id = 1, .minute = events::MinuteCalendar::Open().ValueOrDie().MinuteOf(kT0)};
  window.events.resize(3);
  writer.Submit(WriteJob{.window = std::move(window)});
  for (;;) {
    auto done = writer.Collect(std::chrono::milliseconds(1000));
    if (!done.empty()) return std::move(done.front());
  }
}

TEST(WindowWriter, EverySinkStoresAWindowAtTheSameTime) {
  Rendezvous meeting;
  std::vector<std::unique_ptr<MinuteSink>> sinks;
  for (const char* name : {"objects", "warehouse", "third"})
    sinks.push_back(std::make_unique<RendezvousSink>(meeting, 3, name));
  const WriteDone done = WriteOneWindow(std::move(sinks));
  ASSERT_TRUE(done.result.ok()) << done.result.status().ToString();
  EXPECT_EQ(done.result->rows, 3);
}

TEST(WindowWriter, AFailingSinkFailsTheWindowAndIsNamed) {
  Rendezvous meeting;
  std::vector<std::unique_ptr<MinuteSink>> sinks;
  sinks.push_back(std::make_unique<RendezvousSink>(meeting, 2, "objects"));
  sinks.push_back(std::make_unique<RendezvousSink>(meeting, 2, "warehouse", /*fail=*/true));
  const WriteDone done = WriteOneWindow(std::move(sinks));
  ASSERT_FALSE(done.result.ok());
  EXPECT_EQ(done.result.status().message(), "warehouse: down");
}

}  // namespace
}  // namespace pfad::ingest
