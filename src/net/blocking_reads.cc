#include "blocking_reads.h"

namespace samsa::net {

boost::asio::thread_pool& blocking_reads() {
  static boost::asio::thread_pool pool(2);
  return pool;
}

}  // namespace samsa::net
