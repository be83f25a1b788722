#pragma once
// A small pool for file reads that would block (data not in the page cache),
// so that no reactor thread ever waits for a disk.
#include <boost/asio/thread_pool.hpp>

namespace samsa::net {

boost::asio::thread_pool& blocking_reads();

}  // namespace samsa::net
