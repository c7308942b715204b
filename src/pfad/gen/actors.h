// Labelled actors of docs/FRAUD.md section 1: fraud scenarios (bot, card
// testing, account takeover, cart hoarding, fraud ring) and their legitimate
// look-alikes (power user, flash sale, shared device), one small class each
// behind the Actor interface.
//
// An actor draws all its parameters (users, sessions, sizes, rates) when it is
// made, then runs on its own clock once started: it has a next due time, and
// each Emit(t) returns its next event stamped t (t >= due time, so the output
// stays in time order) and schedules the one after, until it ends. Every
// random draw comes from the ActorContext's Rng, so a seeded caller gets the
// same actors and events every time.
//
// An actor keeps the labels of its entities (docs/FRAUD.md: which users and
// sessions, by scenario) with the first and last time each emitted an event.
// TrafficMix (traffic_mix.h) decides when actors start and interleaves them
// with the reference stream.
#pragma once

#include "pfad/events/event.h"
#include "pfad/events/generator.h"
#include "pfad/events/labels.h"

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace pfad::gen {

// What every actor draws from and looks at.
struct ActorContext {
  events::Rng& rng;
  // The reference error rule (events::DrawStatus) for actors other than card testing.
  std::optional<double> error_rate;
  // The reference stream, whose recent users account takeover picks from.
  const events::EventGenerator& reference;
  // The per-seed scarce products cart hoarders pile up.
  std::span<const int32_t> scarce_products;
};

class Actor {
 public:
  explicit Actor(events::Scenario scenario) : scenario_(scenario) {}
  virtual ~Actor() = default;
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

  [[nodiscard]] events::Scenario scenario() const { return scenario_; }
  // Users it brings into the traffic, what it costs of the mix's budget
  // (account takeover, which reuses a reference user, counts one).
  [[nodiscard]] virtual int budget_users() const = 0;
  // Begins at t_ms (first due time). False when it cannot start yet (account
  // takeover before any reference user is established); then nothing was drawn.
  [[nodiscard]] virtual bool Start(int64_t t_ms, ActorContext& ctx) = 0;

  [[nodiscard]] int64_t due_ms() const { return due_ms_; }
  [[nodiscard]] bool ended() const { return ended_; }
  // Its next event, stamped t_ms (>= due_ms()); schedules the following one or ends.
  events::Event Emit(int64_t t_ms, ActorContext& ctx);

  // Its entities' labels with first/last event times so far; entities that
  // have not emitted yet are left out.
  [[nodiscard]] std::vector<events::FraudLabel> Labels() const;
  // The labels the last emitted event counts for (its user, its session or
  // both; first/last are lifetime times).
  [[nodiscard]] std::span<const events::FraudLabel* const> last_labels() const {
    return std::span(touched_.data(), touched_count_);
  }

 protected:
  // Fills the next event (via NewEvent) and calls ScheduleAt or End.
  virtual events::Event Step(int64_t t_ms, ActorContext& ctx) = 0;

  // Only while the actor is being made: last_labels() points into the list.
  void AddLabel(events::EntityKind kind, const events::Uuid& id);
  void ScheduleAt(int64_t due_ms) { due_ms_ = due_ms; }
  void End() { ended_ = true; }
  // An event with a fresh id and a reference latency; status by the reference
  // error rule; product as given.
  static events::Event NewEvent(ActorContext& ctx, const events::Uuid& user, const events::Uuid& session,
                                events::EventType type, int64_t t_ms, std::optional<int32_t> product);

 private:
  static constexpr int64_t kNotSeen = std::numeric_limits<int64_t>::max();
  events::Scenario scenario_;
  int64_t due_ms_ = 0;
  bool ended_ = false;
  std::vector<events::FraudLabel> labels_;  // first_ms = kNotSeen until the entity emits
  std::array<const events::FraudLabel*, 2> touched_{};
  size_t touched_count_ = 0;
};

// A new actor of `scenario` with its parameters drawn (docs/FRAUD.md section 1).
std::unique_ptr<Actor> DrawActor(events::Scenario scenario, ActorContext& ctx);

// The per-seed set of scarce products (20 distinct ids in [1, 10000]).
std::vector<int32_t> DrawScarceProducts(events::Rng& rng);

}  // namespace pfad::gen
