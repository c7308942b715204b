// TrafficMix: the reference event stream with labelled actors mixed in
// (docs/FRAUD.md section 1, `pfad gen --fraud`, `pfad produce --fraud`).
//
// Next(t) emits from the earliest started actor whose due time is <= t, else
// from the reference stream (events::EventGenerator). Each user the reference
// stream starts adds fraud_share / (1 - fraud_share) users to the fraud budget
// and as many to the look-alike budget; while a budget covers the next actor
// drawn for it (scenario with equal weights among its kind), that actor starts;
// an account takeover (one user) drawn before any reference user is
// established waits aside, and starts, in draw order, once one is. All draws come from the seed: the
// reference stream from the seed itself, the actors from a second stream derived from it, so with fraud_share
// 0 the mix is exactly the reference stream.
//
// Labels are collected one of two ways:
// - per range (pfad gen): TakeRangeLabels(end) gives each entity that emitted
//   since the previous call, with first/last clipped to those events (a minute
//   object's labels);
// - per actor (pfad produce): TakeEndedLabels() gives the lifetime labels of
//   actors that ended since the previous call.
// ActiveLabels() gives the lifetime labels so far of the actors still running.
#pragma once

#include "pfad/common/status.h"
#include "pfad/events/generator.h"
#include "pfad/events/labels.h"
#include "pfad/gen/actors.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <vector>

namespace pfad::gen {

enum class LabelCollection : uint8_t { kPerRange, kPerActor };

struct TrafficMixOptions {
  events::GeneratorOptions reference;  // seed, error rate, new-user probability
  double fraud_share = 0;              // 0 <= share < 1
  LabelCollection labels = LabelCollection::kPerRange;
};

class TrafficMix {
 public:
  // Invalid when fraud_share is outside [0, 1).
  static Result<std::unique_ptr<TrafficMix>> Make(const TrafficMixOptions& options);

  // The next event, stamped t_ms. Call with non-decreasing times.
  events::Event Next(int64_t t_ms);

  // kPerRange: labels of the entities that emitted events stamped before end_ms
  // since the previous call, first/last clipped to those events; ordered by
  // first_ms, then kind and id. Call once every event before end_ms is out and
  // before any later one.
  std::vector<events::FraudLabel> TakeRangeLabels(int64_t end_ms);
  // kPerActor: lifetime labels of the actors that ended since the previous call.
  std::vector<events::FraudLabel> TakeEndedLabels();
  // Lifetime labels so far of the actors still running (e.g. when produce stops).
  [[nodiscard]] std::vector<events::FraudLabel> ActiveLabels() const;

  [[nodiscard]] const events::EventGenerator& reference() const { return reference_; }
  [[nodiscard]] size_t active_actors() const { return active_.size(); }

 private:
  explicit TrafficMix(const TrafficMixOptions& options);
  ActorContext Context();
  void StartActors(int64_t t_ms);
  void Record(const Actor& actor, const events::Event& e);

  struct Due {
    int64_t due_ms;
    uint64_t id;  // start order: ties go to the earlier actor
    friend bool operator>(const Due& a, const Due& b) {
      return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.id > b.id;
    }
  };
  using EntityKey = std::pair<events::EntityKind, std::array<uint8_t, 16>>;

  TrafficMixOptions options_;
  events::EventGenerator reference_;
  events::Rng rng_;
  std::vector<int32_t> scarce_products_;
  double per_user_budget_ = 0;
  double fraud_budget_ = 0;
  double lookalike_budget_ = 0;
  int64_t users_counted_ = 0;
  std::unique_ptr<Actor> next_fraud_, next_lookalike_;
  std::deque<std::unique_ptr<Actor>> waiting_;  // paid for, not startable yet
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::unique_ptr<Actor>> active_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::map<EntityKey, events::FraudLabel> range_;  // kPerRange
  std::vector<events::FraudLabel> ended_;          // kPerActor
};

}  // namespace pfad::gen
