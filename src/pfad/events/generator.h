// Synthetic events with the reference generator's distributions (docs/DESIGN.md,
// "Event distributions"), deterministic for a seed on every platform (no std:: distributions,
// whose output is implementation-defined).
//
// Per event: event_type uniform over the five types; request_latency_ms uniform
// in [50, 1500]; status ERROR with a probability the event draws from
// uniform(0, 0.5) (about 25 % errors overall), or with the fixed
// GeneratorOptions::error_rate when set; error_code uniform in [400, 599] for
// errors, else null; product_id uniform in [1, 10000] for VIEW_PRODUCT and
// ADD_TO_CART, else null. After each event the user/session pair is replaced by
// a new one with probability new_user_probability.
//
// This is the reference stream. Labelled fraud actors and look-alikes run
// beside it (gen/actors.h, gen/traffic_mix.h); for them the generator tells
// how many users it has started and which users it has seen lately.
#pragma once

#include "pfad/events/event.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
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
  // Fisher-Yates, from the back: the same order for a seed everywhere.
  template <typename T>
  void Shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[static_cast<size_t>(Uniform(0, static_cast<int64_t>(i) - 1))]);
    }
  }

 private:
  uint64_t s_[4];
};

struct GeneratorOptions {
  uint64_t seed = 0;
  // Fixed probability of status ERROR (tests); unset = each event draws its own
  // from uniform(0, 0.5), as the reference producer does.
  std::optional<double> error_rate;
  double new_user_probability = 0.01;
};

// A fresh version-4 UUID from two draws of `rng`.
Uuid NewUuid(Rng& rng);

// The reference error rule for one event: status ERROR with probability
// `error_rate`, or, when unset, with a probability drawn from uniform(0, 0.5);
// error_code uniform in [400, 599] for errors, else null.
void DrawStatus(Event& event, Rng& rng, std::optional<double> error_rate);

// A reference user the generator has emitted, with the time of its first event.
struct SeenUser {
  Uuid user_id;
  Uuid session_id;
  int64_t first_ms = 0;
};

class EventGenerator {
 public:
  // recent_users() samples a user whose first event comes at least
  // kUserSampleMs after the previous sampled one's, and keeps the latest
  // kRecentUsers: minutes of history at any event rate, in bounded memory.
  static constexpr size_t kRecentUsers = 256;
  static constexpr int64_t kUserSampleMs = 1000;

  explicit EventGenerator(const GeneratorOptions& options);

  // The next event, stamped with the given time (epoch ms, UTC).
  Event Next(int64_t timestamp_ms);

  // The fixed error rate, or nullopt when each event draws its own.
  [[nodiscard]] std::optional<double> error_rate() const { return error_rate_; }
  // User/session pairs started so far, the first one included: a caller that
  // compares it before and after Next learns that a new user has begun.
  [[nodiscard]] int64_t users_started() const { return users_started_; }
  // A sample of the users that have emitted events (see kRecentUsers), oldest first.
  [[nodiscard]] const std::deque<SeenUser>& recent_users() const { return recent_users_; }

 private:
  Rng rng_;
  std::optional<double> error_rate_;
  double new_user_probability_;
  Uuid user_id_;
  Uuid session_id_;
  bool user_seen_ = false;  // the current user has emitted an event
  int64_t users_started_ = 1;
  std::deque<SeenUser> recent_users_;
};

}  // namespace pfad::events
