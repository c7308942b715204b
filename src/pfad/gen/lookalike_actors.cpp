// The legitimate look-alikes of docs/FRAUD.md section 1 (hard negatives): each
// resembles a fraud scenario on some features and is labelled with its own
// scenario so evaluation can slice them.
#include <algorithm>

#include "pfad/gen/actor_kinds.h"

namespace pfad::gen::detail {
namespace {

// Many events over many products, like a bot, but with human gaps and buying.
class PowerUser final : public SoloActor {
 public:
  explicit PowerUser(ActorContext& ctx)
      : SoloActor(Scenario::kPowerUser, ctx),
        remaining_(ctx.rng.Uniform(200, 600)),
        mean_gap_ms_(UniformReal(ctx.rng, 1000, 3000)) {}

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const double r = ctx.rng.UnitDouble();
    const EventType type = r < 0.45   ? EventType::kViewProduct
                           : r < 0.70 ? EventType::kSearch
                           : r < 0.90 ? EventType::kAddToCart
                           : r < 0.95 ? EventType::kCheckout
                                      : EventType::kPayment;
    const auto product = HasProduct(type) ? std::optional<int32_t>(AnyProduct(ctx.rng)) : std::nullopt;
    Event e = SoloEvent(ctx, type, t_ms, product);
    if (--remaining_ == 0) {
      End();
    } else {
      ScheduleAt(t_ms + ExponentialGap(ctx.rng, mean_gap_ms_));
    }
    return e;
  }

 private:
  int64_t remaining_;
  double mean_gap_ms_;
};

// A crowd on the same few products within one minute, like a ring, but each
// on its own session and not in lock-step.
class FlashSale final : public Actor {
 public:
  static constexpr int64_t kSaleMs = 60'000;

  explicit FlashSale(ActorContext& ctx) : Actor(Scenario::kFlashSale) {
    const auto crowd = ctx.rng.Uniform(20, 60);
    const auto products = ctx.rng.Uniform(1, 3);
    std::vector<int32_t> sale;
    for (int64_t i = 0; i < products; ++i) sale.push_back(AnyProduct(ctx.rng));
    std::vector<int64_t> offsets;
    for (int64_t u = 0; u < crowd; ++u) {
      users_.push_back(events::NewUuid(ctx.rng));
      sessions_.push_back(events::NewUuid(ctx.rng));
      const auto browsing = ctx.rng.Uniform(2, 6);
      const bool buys = ctx.rng.Bernoulli(0.5);
      offsets.clear();
      for (int64_t i = 0; i < browsing + (buys ? 2 : 0); ++i)
        offsets.push_back(ctx.rng.Uniform(0, kSaleMs - 1));
      std::sort(offsets.begin(), offsets.end());
      for (int64_t i = 0; i < static_cast<int64_t>(offsets.size()); ++i) {
        Planned p{.offset_ms = offsets[static_cast<size_t>(i)], .user = static_cast<size_t>(u)};
        if (i < browsing) {
          p.type = ctx.rng.Bernoulli(0.5) ? EventType::kViewProduct : EventType::kAddToCart;
          p.product = sale[static_cast<size_t>(ctx.rng.Uniform(0, products - 1))];
        } else {
          p.type = i == browsing ? EventType::kCheckout : EventType::kPayment;
        }
        plan_.push_back(p);
      }
      AddLabel(EntityKind::kUser, users_.back());
      AddLabel(EntityKind::kSession, sessions_.back());
    }
    std::stable_sort(plan_.begin(), plan_.end(),
                     [](const Planned& a, const Planned& b) { return a.offset_ms < b.offset_ms; });
  }
  [[nodiscard]] int budget_users() const override { return static_cast<int>(users_.size()); }
  bool Start(int64_t t_ms, ActorContext& /*ctx*/) override {
    start_ms_ = t_ms;
    ScheduleAt(start_ms_ + plan_.front().offset_ms);
    return true;
  }

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const Planned& p = plan_[next_++];
    Event e = NewEvent(ctx, users_[p.user], sessions_[p.user], p.type, t_ms, p.product);
    if (next_ == plan_.size()) {
      End();
    } else {
      ScheduleAt(start_ms_ + plan_[next_].offset_ms);
    }
    return e;
  }

 private:
  struct Planned {
    int64_t offset_ms = 0;  // from the sale's start
    size_t user = 0;
    EventType type = EventType::kViewProduct;
    std::optional<int32_t> product;
  };
  std::vector<Uuid> users_, sessions_;
  std::vector<Planned> plan_;
  size_t next_ = 0;
  int64_t start_ms_ = 0;
};

}  // namespace

std::unique_ptr<Actor> MakePowerUser(ActorContext& ctx) { return std::make_unique<PowerUser>(ctx); }
std::unique_ptr<Actor> MakeFlashSale(ActorContext& ctx) { return std::make_unique<FlashSale>(ctx); }
std::unique_ptr<Actor> MakeSharedDevice(ActorContext& ctx) {
  // A household: 2-3 users on one session, otherwise drawn like a fraud ring
  // (its own pool of 5-15 products, 10-40 rounds 2-10 s apart).
  return MakeInStepGroup(Scenario::kSharedDevice, {.members = {2, 3}, .sessions = {1, 1}}, ctx);
}

}  // namespace pfad::gen::detail
