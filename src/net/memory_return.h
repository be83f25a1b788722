#pragma once
// Giving memory back to the system after many connections closed.
//
// glibc keeps what threads free in their arenas. malloc_trim() releases free
// pages inside an arena and the top of the main one, but the free top of a
// thread's arena (where a reactor's connections lived) is only released by
// free() itself, when that top exceeds M_TRIM_THRESHOLD. glibc raises that
// threshold on its own after large frees (up to 64 MiB), so by default the
// memory of 10,000 closed connections would stay resident for good.
//
// So: thresholds are set explicitly once (which stops glibc from moving
// them; the mmap threshold is the value it would drift to for 1 MiB
// requests), and after a mass close each reactor frees one block under a
// lowered trim threshold, which trims its arena's top; then malloc_trim()
// does the rest and the threshold is restored.
#include <cstddef>

namespace samsa::net {

class IoContextPool;

// Once per process; later calls do nothing.
void configure_malloc_for_server();
// Runs the release on every reactor of `pool` and on the calling thread.
// Any thread; returns at once.
void give_memory_back(IoContextPool& pool);

}  // namespace samsa::net
