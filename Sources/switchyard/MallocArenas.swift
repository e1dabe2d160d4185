#if canImport(Glibc)
import Glibc
import NIOCore

/// glibc's malloc gives a thread that finds the arenas busy one of its own, up to 8 per core, and each
/// keeps its own free memory. The threads that allocate here are the event loops and Swift's concurrency
/// pool, one of each per core, so two arenas per core serve them without contention. Measured (bench/RESULTS.md,
/// eleventh round): 1,000 slow streams after a load test peak ~1–2 MiB lower, CPU per request unchanged.
/// Left alone when the operator set the limit (`MALLOC_ARENA_MAX`, or `arena_max` in `GLIBC_TUNABLES`).
func limitMallocArenasToAllocatingThreads() {
    if getenv("MALLOC_ARENA_MAX") != nil { return }
    if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("arena_max") { return }
    // <malloc.h> is not part of Swift's Glibc module; glibc exports mallopt all the same.
    typealias MallocOption = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return }
    let mallocArenaMaximum: Int32 = -8  // M_ARENA_MAX
    _ = unsafeBitCast(symbol, to: MallocOption.self)(mallocArenaMaximum, Int32(clamping: 2 * System.coreCount))
}
#else
func limitMallocArenasToAllocatingThreads() {}
#endif
