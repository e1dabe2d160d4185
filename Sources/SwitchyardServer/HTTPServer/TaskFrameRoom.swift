/// Gives a request's task room for its async frames up front.
///
/// A task allocates its async functions' frames from slabs: the first sits in the task itself (under 1 KB),
/// and each frame that does not fit the current slab gets a new one from malloc, freed when the task ends.
/// A request's frames go deeper than that (~30 KB for a short chat request; the attempt loop's alone are
/// several KB), so a short request made ~25 slab mallocs of 1–4 KB, sizes glibc serves from its slower
/// bins. One allocation of ``bytes``, given back at once, leaves an empty slab behind the task's first one,
/// which the allocator reuses for the frames that follow: one malloc per request instead (heaptrack).
/// Paired runs: CPU per short request 0.942 and 0.975 of before; 1,000 slow streams peak ~2 MiB higher
/// (a stream's task holds its slabs for its life either way; 16 KB left 10 slab mallocs per request).
enum TaskFrameRoom {
    /// Enough for a short request's deepest chain of frames.
    static let bytes = 32 << 10

    /// Call first thing in a new task.
    static func reserve() {
        guard let room = _reserveTaskAllocation(bytes) else { return }
        _releaseTaskAllocation(room)
    }
}

// The concurrency runtime's task allocator (its ABI entry points, which compiled async code calls to
// allocate frames). They allocate from, and give back to, the current task's stack of slabs.
@_silgen_name("swift_task_alloc")
private func _reserveTaskAllocation(_ size: Int) -> UnsafeMutableRawPointer?

@_silgen_name("swift_task_dealloc")
private func _releaseTaskAllocation(_ pointer: UnsafeMutableRawPointer)
