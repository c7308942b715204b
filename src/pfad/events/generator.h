// Synthetic events with the reference generator's distributions (DESIGN.md
// section 1), deterministic for a seed on every platform (no std:: distributions,
// whose output is implementation-defined).
//
// Per event: event_type uniform over the five types; request_latency_ms uniform
// in [50, 1500]; status ERROR with the generator's error rate; error_code uniform
// in [400, 599] for errors, else null; product_id uniform in [1, 10000] for
// VIEW_PRODUCT and ADD_TO_CART, else null. After each event the user/session
// pair is replaced by a new one with probability new_user_probability.
//
// Later behaviours (fraud scenarios) plug in as further EventShapers.
#pragma once

#include "pfad/events/event.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace pfad::events {

// xoshiro256** seeded through splitmix64: fast, and the same stream everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform integer in [lo, hi] (inclusive), unbiased.
  int64_t Uniform(int64_t lo, int64_t hi);
  // Uniform double in [0, 1).
  double UnitDouble();
  bool Bernoulli(double p) { return UnitDouble() < p; }

 private:
  uint64_t s_[4];
};

struct GeneratorOptions {
  uint64_t seed = 0;
  // Probability of status ERROR; unset = drawn once from uniform(0, 0.5) as the
  // reference producer does.
  std::optional<double> error_rate;
  double new_user_probability = 0.01;
};

// A behaviour that shapes each generated event (fraud scenarios later).
class EventShaper {
 public:
  virtual ~EventShaper() = default;
  virtual void Shape(Event& event, Rng& rng) = 0;
};

class EventGenerator {
 public:
  explicit EventGenerator(const GeneratorOptions& options);

  // The next event, stamped with the given time (epoch ms, UTC).
  Event Next(int64_t timestamp_ms);
  void AddShaper(std::unique_ptr<EventShaper> shaper) { shapers_.push_back(std::move(shaper)); }

  [[nodiscard]] double error_rate() const { return error_rate_; }

 private:
  Uuid NewUuid();

  Rng rng_;
  double error_rate_;
  double new_user_probability_;
  Uuid user_id_;
  Uuid session_id_;
  std::vector<std::unique_ptr<EventShaper>> shapers_;
};

}  // namespace pfad::events
