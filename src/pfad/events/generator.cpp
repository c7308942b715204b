#include "pfad/events/generator.h"

#include <bit>

namespace pfad::events {
namespace {
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = SplitMix64(seed);
}

uint64_t Rng::Next() {
  const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

int64_t Rng::Uniform(int64_t lo, int64_t hi) {
  // Lemire's multiply-shift with rejection: unbiased, rarely divides.
  const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  __uint128_t m = static_cast<__uint128_t>(Next()) * range;
  auto low = static_cast<uint64_t>(m);
  if (low < range) {
    const uint64_t threshold = (0 - range) % range;
    while (low < threshold) {
      m = static_cast<__uint128_t>(Next()) * range;
      low = static_cast<uint64_t>(m);
    }
  }
  return lo + static_cast<int64_t>(m >> 64);
}

double Rng::UnitDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

Uuid NewUuid(Rng& rng) {
  const uint64_t hi = rng.Next();
  return Uuid::V4(hi, rng.Next());
}

void DrawStatus(Event& event, Rng& rng, std::optional<double> error_rate) {
  const double p = error_rate ? *error_rate : rng.UnitDouble() * 0.5;
  const bool error = rng.Bernoulli(p);
  event.status = error ? EventStatus::kError : EventStatus::kSuccess;
  event.error_code =
      error ? std::optional<int32_t>(static_cast<int32_t>(rng.Uniform(400, 599))) : std::nullopt;
}

EventGenerator::EventGenerator(const GeneratorOptions& options)
    : rng_(options.seed),
      error_rate_(options.error_rate),
      new_user_probability_(options.new_user_probability) {
  user_id_ = NewUuid(rng_);
  session_id_ = NewUuid(rng_);
}

Event EventGenerator::Next(int64_t timestamp_ms) {
  Event e;
  e.event_id = NewUuid(rng_);
  e.user_id = user_id_;
  e.session_id = session_id_;
  e.event_type = static_cast<EventType>(rng_.Uniform(0, kEventTypeCount - 1));
  e.event_timestamp_ms = timestamp_ms;
  e.request_latency_ms = static_cast<int32_t>(rng_.Uniform(50, 1500));
  DrawStatus(e, rng_, error_rate_);
  if (e.event_type == EventType::kViewProduct || e.event_type == EventType::kAddToCart) {
    e.product_id = static_cast<int32_t>(rng_.Uniform(1, 10000));
  }
  if (!user_seen_) {
    user_seen_ = true;
    if (recent_users_.empty() || timestamp_ms >= recent_users_.back().first_ms + kUserSampleMs) {
      if (recent_users_.size() == kRecentUsers) recent_users_.pop_front();
      recent_users_.push_back({user_id_, session_id_, timestamp_ms});
    }
  }
  if (rng_.Bernoulli(new_user_probability_)) {
    user_id_ = NewUuid(rng_);
    session_id_ = NewUuid(rng_);
    user_seen_ = false;
    ++users_started_;
  }
  return e;
}

}  // namespace pfad::events
