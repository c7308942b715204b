// The process's default clock (see clock.h).
#include "pfad/common/clock.h"

namespace pfad {

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace pfad
