#include "pfad/fraud/models/rules.h"

#include "pfad/events/event.h"

#include <array>
#include <bit>

namespace pfad::fraud {
namespace {

// The node features the rules read, in the order of Column below.
enum Column : size_t {
  kNEvents,
  kNCart,
  kNCheckout,
  kNPayment,
  kShareView,
  kShareCheckout,
  kSharePayment,
  kShareSearch,
  kErrorCodeDiversity,
  kPaymentErrorShare,
  kGapCv,
  kProductsPerEvent,
  kDegree,
  kFirstType,
  kColumnCount,
};
constexpr std::array<std::string_view, kColumnCount> kColumnNames = {"n_events",
                                                                     "n_cart",
                                                                     "n_checkout",
                                                                     "n_payment",
                                                                     "share_view",
                                                                     "share_checkout",
                                                                     "share_payment",
                                                                     "share_search",
                                                                     "error_code_diversity",
                                                                     "payment_error_share",
                                                                     "gap_cv",
                                                                     "products_per_event",
                                                                     "degree",
                                                                     "first_type"};

constexpr double kCheckoutType = static_cast<double>(events::EventType::kCheckout);
constexpr double kPaymentType = static_cast<double>(events::EventType::kPayment);

uint8_t Bit(Rule rule) { return static_cast<uint8_t>(1U << static_cast<unsigned>(rule)); }

}  // namespace

std::string_view ToString(Rule rule) {
  switch (rule) {
    case Rule::kBot:
      return "bot";
    case Rule::kCardTesting:
      return "card_testing";
    case Rule::kAccountTakeover:
      return "account_takeover";
    case Rule::kCartHoarding:
      return "cart_hoarding";
    case Rule::kFraudRing:
      return "fraud_ring";
  }
  return "unknown";
}

Result<std::vector<uint8_t>> RuleHits(const FeatureTable& node_features) {
  std::array<size_t, kColumnCount> index{};
  for (size_t c = 0; c < kColumnCount; ++c) {
    const int column = node_features.Column(kColumnNames[c]);
    if (column < 0) {
      return Status::Invalid("the rules need the node feature '", kColumnNames[c], "', missing from the ",
                             events::ToString(node_features.kind), " feature table");
    }
    index[c] = static_cast<size_t>(column);
  }
  if (node_features.values.size() != node_features.rows() * node_features.cols()) {
    return Status::Invalid("the ", events::ToString(node_features.kind), " feature table has ",
                           node_features.values.size(), " values for ", node_features.rows(), " rows x ",
                           node_features.cols(), " columns");
  }
  const bool sessions = node_features.kind == events::EntityKind::kSession;
  std::vector<uint8_t> hits(node_features.rows(), 0);
  for (size_t r = 0; r < node_features.rows(); ++r) {
    const double* row = node_features.row(r);
    const auto f = [&](Column c) { return row[index[c]]; };
    uint8_t fired = 0;
    if (f(kNEvents) >= kBotMinEvents && f(kShareView) + f(kShareSearch) >= kBotMinBrowseShare &&
        f(kGapCv) <= kBotMaxGapCv) {
      fired |= Bit(Rule::kBot);
    }
    if (f(kNPayment) >= kCardTestingMinPayments &&
        f(kPaymentErrorShare) >= kCardTestingMinPaymentErrorShare &&
        f(kErrorCodeDiversity) <= kCardTestingMaxErrorCodeDiversity) {
      fired |= Bit(Rule::kCardTesting);
    }
    if ((f(kFirstType) == kCheckoutType || f(kFirstType) == kPaymentType) &&
        f(kShareCheckout) + f(kSharePayment) >= kTakeoverMinCheckoutShare &&
        f(kNEvents) >= kTakeoverMinEvents) {
      fired |= Bit(Rule::kAccountTakeover);
    }
    if (f(kNCart) >= kHoardingMinCarts && f(kNCheckout) <= kHoardingMaxCheckouts &&
        f(kProductsPerEvent) <= kHoardingMaxProductsPerEvent) {
      fired |= Bit(Rule::kCartHoarding);
    }
    if (sessions && f(kDegree) >= kRingMinSessionDegree) fired |= Bit(Rule::kFraudRing);
    hits[r] = fired;
  }
  return hits;
}

Result<std::vector<double>> RuleScores(const FeatureTable& node_features) {
  PFAD_ASSIGN_OR_RAISE(std::vector<uint8_t> hits, RuleHits(node_features));
  std::vector<double> scores(hits.size());
  for (size_t r = 0; r < hits.size(); ++r) scores[r] = std::popcount(hits[r]);
  return scores;
}

}  // namespace pfad::fraud
