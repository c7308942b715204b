// Private to the gen library: the makers of each actor kind (actors.h has the
// interface) and the small draws they share.
#pragma once

#include "pfad/gen/actors.h"

#include <cmath>
#include <cstdint>
#include <memory>

namespace pfad::gen::detail {

// The event vocabulary every actor kind speaks.
using events::EntityKind;
using events::Event;
using events::EventType;
using events::Scenario;
using events::Uuid;

// Fraud scenarios (fraud_actors.cpp).
std::unique_ptr<Actor> MakeBot(ActorContext& ctx);
std::unique_ptr<Actor> MakeCardTesting(ActorContext& ctx);
std::unique_ptr<Actor> MakeAccountTakeover(ActorContext& ctx);
std::unique_ptr<Actor> MakeCartHoarding(ActorContext& ctx);
std::unique_ptr<Actor> MakeFraudRing(ActorContext& ctx);
// Legitimate look-alikes (lookalike_actors.cpp).
std::unique_ptr<Actor> MakePowerUser(ActorContext& ctx);
std::unique_ptr<Actor> MakeFlashSale(ActorContext& ctx);
std::unique_ptr<Actor> MakeSharedDevice(ActorContext& ctx);

// One user on one session of its own, starting at once (both labelled): the
// bot, card tester, cart hoarder and power user.
class SoloActor : public Actor {
 public:
  SoloActor(events::Scenario scenario, ActorContext& ctx)
      : Actor(scenario), user_(events::NewUuid(ctx.rng)), session_(events::NewUuid(ctx.rng)) {
    AddLabel(events::EntityKind::kUser, user_);
    AddLabel(events::EntityKind::kSession, session_);
  }
  [[nodiscard]] int budget_users() const override { return 1; }
  bool Start(int64_t t_ms, ActorContext& /*ctx*/) override {
    ScheduleAt(t_ms);
    return true;
  }

 protected:
  // An event of its user on its session.
  events::Event SoloEvent(ActorContext& ctx, events::EventType type, int64_t t_ms,
                          std::optional<int32_t> product) {
    return NewEvent(ctx, user_, session_, type, t_ms, product);
  }

 private:
  events::Uuid user_, session_;
};

// A group acting in step on shared sessions (group_actor.cpp): ranges are inclusive.
struct GroupShape {
  struct Range {
    int64_t lo, hi;
  };
  Range members;
  Range sessions;
  Range pool{5, 15};     // products the group uses
  Range rounds{10, 40};  // one event per member per round, rounds 2-10 s apart
};
std::unique_ptr<Actor> MakeInStepGroup(events::Scenario scenario, const GroupShape& shape, ActorContext& ctx);

// The weight of a scenario when the mix draws the next fraud actor or
// look-alike (docs/FRAUD.md section 1 lists them).
double DrawWeight(events::Scenario scenario);

// Uniform double in [lo, hi).
inline double UniformReal(events::Rng& rng, double lo, double hi) {
  return lo + (hi - lo) * rng.UnitDouble();
}

// `base` scaled by a uniform factor in [1 - fraction, 1 + fraction), in whole ms (>= 1).
inline int64_t Jittered(events::Rng& rng, double base, double fraction) {
  return std::max<int64_t>(1, std::llround(base * UniformReal(rng, 1 - fraction, 1 + fraction)));
}

// Exponential gap with the given mean, in whole ms (>= 1).
inline int64_t ExponentialGap(events::Rng& rng, double mean_ms) {
  return std::max<int64_t>(1, std::llround(-std::log1p(-rng.UnitDouble()) * mean_ms));
}

inline int32_t AnyProduct(events::Rng& rng) { return static_cast<int32_t>(rng.Uniform(1, 10000)); }

inline bool HasProduct(events::EventType type) {
  return type == events::EventType::kViewProduct || type == events::EventType::kAddToCart;
}

}  // namespace pfad::gen::detail
