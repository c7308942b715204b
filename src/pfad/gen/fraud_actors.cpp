// The fraud scenarios of docs/FRAUD.md section 1; the parameters drawn here
// are the ones its table lists.
#include <algorithm>
#include <array>

#include "pfad/gen/actor_kinds.h"

namespace pfad::gen::detail {
namespace {

// Machine-regular crawling: VIEW_PRODUCT / SEARCH at a fixed interval.
class Bot final : public SoloActor {
 public:
  explicit Bot(ActorContext& ctx)
      : SoloActor(Scenario::kBot, ctx),
        remaining_(ctx.rng.Uniform(60, 400)),
        interval_ms_(static_cast<double>(ctx.rng.Uniform(500, 3000))),
        crawl_(AnyProduct(ctx.rng)) {}

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const bool view = ctx.rng.Bernoulli(0.7);
    std::optional<int32_t> product;
    if (view) {
      // A crawl: the next product id, now and then a jump elsewhere.
      crawl_ = ctx.rng.Bernoulli(0.1) ? AnyProduct(ctx.rng) : crawl_ % 10000 + 1;
      product = crawl_;
    }
    Event e = SoloEvent(ctx, view ? EventType::kViewProduct : EventType::kSearch, t_ms, product);
    if (--remaining_ == 0) {
      End();
    } else {
      ScheduleAt(t_ms + Jittered(ctx.rng, interval_ms_, 0.01));
    }
    return e;
  }

 private:
  int64_t remaining_;
  double interval_ms_;
  int32_t crawl_;
};

// One CHECKOUT, then a run of mostly declined PAYMENTs (stolen cards tried).
class CardTesting final : public SoloActor {
 public:
  static constexpr std::array<int32_t, 4> kDeclineCodes{402, 403, 422, 429};

  explicit CardTesting(ActorContext& ctx)
      : SoloActor(Scenario::kCardTesting, ctx),
        payments_(ctx.rng.Uniform(10, 40)),
        interval_ms_(static_cast<double>(ctx.rng.Uniform(1000, 5000))),
        decline_probability_(UniformReal(ctx.rng, 0.6, 0.9)) {}

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const bool checkout = !checked_out_;
    checked_out_ = true;
    Event e = SoloEvent(ctx, checkout ? EventType::kCheckout : EventType::kPayment, t_ms, std::nullopt);
    // The decline rule replaces the reference error rule.
    const bool declined = !checkout && ctx.rng.Bernoulli(decline_probability_);
    e.status = declined ? events::EventStatus::kError : events::EventStatus::kSuccess;
    e.error_code = declined
                       ? std::optional<int32_t>(kDeclineCodes[static_cast<size_t>(ctx.rng.Uniform(0, 3))])
                       : std::nullopt;
    if (!checkout && --payments_ == 0) {
      End();
    } else {
      ScheduleAt(t_ms + Jittered(ctx.rng, interval_ms_, 0.2));
    }
    return e;
  }

 private:
  int64_t payments_;
  double interval_ms_;
  double decline_probability_;
  bool checked_out_ = false;
};

// An established reference user's account, used from a new session straight
// for CHECKOUT/PAYMENT.
class AccountTakeover final : public Actor {
 public:
  static constexpr int64_t kEstablishedMs = 60'000;

  explicit AccountTakeover(ActorContext& ctx)
      : Actor(Scenario::kAccountTakeover),
        session_(events::NewUuid(ctx.rng)),
        remaining_(ctx.rng.Uniform(3, 8)) {
    AddLabel(EntityKind::kSession, session_);
  }
  [[nodiscard]] int budget_users() const override { return 1; }
  bool Start(int64_t t_ms, ActorContext& ctx) override {
    const auto& recent = ctx.reference.recent_users();
    const auto established = [&](const events::SeenUser& u) { return u.first_ms <= t_ms - kEstablishedMs; };
    const auto count = std::count_if(recent.begin(), recent.end(), established);
    if (count == 0) return false;
    auto pick = ctx.rng.Uniform(0, count - 1);
    for (const auto& u : recent) {
      if (established(u) && pick-- == 0) {
        user_ = u.user_id;
        break;
      }
    }
    ScheduleAt(t_ms);
    return true;
  }

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const EventType type = ctx.rng.Bernoulli(0.5) ? EventType::kCheckout : EventType::kPayment;
    Event e = NewEvent(ctx, user_, session_, type, t_ms, std::nullopt);
    if (--remaining_ == 0) {
      End();
    } else {
      ScheduleAt(t_ms + ctx.rng.Uniform(1000, 4000));
    }
    return e;
  }

 private:
  Uuid user_, session_;
  int64_t remaining_;
};

// Piles the scarce products into a cart and never buys.
class CartHoarding final : public SoloActor {
 public:
  explicit CartHoarding(ActorContext& ctx)
      : SoloActor(Scenario::kCartHoarding, ctx), remaining_(ctx.rng.Uniform(20, 80)) {}

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const EventType type = ctx.rng.Bernoulli(0.85) ? EventType::kAddToCart : EventType::kViewProduct;
    const auto last = static_cast<int64_t>(ctx.scarce_products.size()) - 1;
    const int32_t product = ctx.scarce_products[static_cast<size_t>(ctx.rng.Uniform(0, last))];
    Event e = SoloEvent(ctx, type, t_ms, product);
    if (--remaining_ == 0) {
      End();
    } else {
      ScheduleAt(t_ms + ExponentialGap(ctx.rng, 3000));
    }
    return e;
  }

 private:
  int64_t remaining_;
};

}  // namespace

std::unique_ptr<Actor> MakeBot(ActorContext& ctx) { return std::make_unique<Bot>(ctx); }
std::unique_ptr<Actor> MakeCardTesting(ActorContext& ctx) { return std::make_unique<CardTesting>(ctx); }
std::unique_ptr<Actor> MakeAccountTakeover(ActorContext& ctx) {
  return std::make_unique<AccountTakeover>(ctx);
}
std::unique_ptr<Actor> MakeCartHoarding(ActorContext& ctx) { return std::make_unique<CartHoarding>(ctx); }
std::unique_ptr<Actor> MakeFraudRing(ActorContext& ctx) {
  // 5-30 members on 1-3 shared sessions, a pool of 5-15 products, 10-40 rounds.
  return MakeInStepGroup(Scenario::kFraudRing, {.members = {5, 30}, .sessions = {1, 3}}, ctx);
}

}  // namespace pfad::gen::detail
