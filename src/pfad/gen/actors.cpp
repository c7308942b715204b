#include "pfad/gen/actors.h"

#include <algorithm>

#include "pfad/gen/actor_kinds.h"

namespace pfad::gen {

events::Event Actor::Emit(int64_t t_ms, ActorContext& ctx) {
  events::Event e = Step(t_ms, ctx);
  touched_count_ = 0;
  for (events::FraudLabel& label : labels_) {
    const events::Uuid& id = label.kind == events::EntityKind::kUser ? e.user_id : e.session_id;
    if (label.entity_id != id) continue;
    if (label.first_ms == kNotSeen) label.first_ms = e.event_timestamp_ms;
    label.last_ms = e.event_timestamp_ms;
    touched_[touched_count_++] = &label;
    if (touched_count_ == touched_.size()) break;
  }
  return e;
}

std::vector<events::FraudLabel> Actor::Labels() const {
  std::vector<events::FraudLabel> seen;
  for (const auto& label : labels_) {
    if (label.first_ms != kNotSeen) seen.push_back(label);
  }
  return seen;
}

void Actor::AddLabel(events::EntityKind kind, const events::Uuid& id) {
  labels_.push_back(
      {.kind = kind, .entity_id = id, .scenario = scenario_, .first_ms = kNotSeen, .last_ms = 0});
}

events::Event Actor::NewEvent(ActorContext& ctx, const events::Uuid& user, const events::Uuid& session,
                              events::EventType type, int64_t t_ms, std::optional<int32_t> product) {
  events::Event e;
  e.event_id = events::NewUuid(ctx.rng);
  e.user_id = user;
  e.session_id = session;
  e.event_type = type;
  e.event_timestamp_ms = t_ms;
  e.request_latency_ms = static_cast<int32_t>(ctx.rng.Uniform(50, 1500));
  events::DrawStatus(e, ctx.rng, ctx.error_rate);
  e.product_id = product;
  return e;
}

namespace detail {
double DrawWeight(events::Scenario scenario) {
  using events::Scenario;
  switch (scenario) {
    case Scenario::kFraudRing:
      return 0.25;  // ~17 users each: about half the fraud users
    case Scenario::kFlashSale:
      return 0.05;  // ~40 users each: about 2 users per draw
    case Scenario::kSharedDevice:
      return 2;  // households outnumber rings, as they do in life
    default:
      return 1;
  }
}
}  // namespace detail

std::unique_ptr<Actor> DrawActor(events::Scenario scenario, ActorContext& ctx) {
  using events::Scenario;
  switch (scenario) {
    case Scenario::kBot:
      return detail::MakeBot(ctx);
    case Scenario::kCardTesting:
      return detail::MakeCardTesting(ctx);
    case Scenario::kAccountTakeover:
      return detail::MakeAccountTakeover(ctx);
    case Scenario::kCartHoarding:
      return detail::MakeCartHoarding(ctx);
    case Scenario::kFraudRing:
      return detail::MakeFraudRing(ctx);
    case Scenario::kPowerUser:
      return detail::MakePowerUser(ctx);
    case Scenario::kFlashSale:
      return detail::MakeFlashSale(ctx);
    case Scenario::kSharedDevice:
      return detail::MakeSharedDevice(ctx);
    case Scenario::kFraud:  // labels from the world, not behaviours to generate
    case Scenario::kNotFraud:
      return nullptr;
  }
  return nullptr;
}

std::vector<int32_t> DrawScarceProducts(events::Rng& rng) {
  std::vector<int32_t> products;
  while (products.size() < 20) {
    const int32_t p = detail::AnyProduct(rng);
    if (std::find(products.begin(), products.end(), p) == products.end()) products.push_back(p);
  }
  return products;
}

}  // namespace pfad::gen
