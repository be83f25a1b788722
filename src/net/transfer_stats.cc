#include "transfer_stats.h"

namespace samsa::net {

TransferStats& transfer_stats() {
  static TransferStats stats;
  return stats;
}

}  // namespace samsa::net
