/// Orders a route's targets for one request according to its strategy.
public enum TargetOrdering {
    /// Share of requests the latency strategy sends in random order, so that slow targets are re-measured.
    public static let latencyExploration = 0.05

    public static func order(_ route: ResolvedRoute, using generator: inout some RandomNumberGenerator) -> [TargetState] {
        let targets = route.targets
        guard targets.count > 1 else { return targets }
        switch route.strategy {
        case .priority:
            return targets
        case .cost:
            return costOrder(route)
        case .weighted:
            return weightedOrder(targets, weights: route.weights, using: &generator)
        case .latency:
            if Double.random(in: 0..<1, using: &generator) < latencyExploration { return targets.shuffled(using: &generator) }
            // Unmeasured targets go first so that each gets measured.
            let measured = targets.map { ($0, $0.latencyEWMA ?? -1) }
            return measured.enumerated().sorted { lhs, rhs in
                lhs.element.1 != rhs.element.1 ? lhs.element.1 < rhs.element.1 : lhs.offset < rhs.offset
            }.map(\.element.0)
        case .leastBusy:
            let loads = targets.map { ($0, $0.inFlight) }
            return loads.enumerated().sorted { lhs, rhs in
                lhs.element.1 != rhs.element.1 ? lhs.element.1 < rhs.element.1 : lhs.offset < rhs.offset
            }.map(\.element.0)
        }
    }

    /// Cheapest first for the request's estimated size; unpriced targets last; ties keep config order.
    /// (Unhealthy targets are passed over by the attempt loop, so the cheapest healthy one is tried first.)
    static func costOrder(_ route: ResolvedRoute) -> [TargetState] {
        let (input, output) = route.estimatedTokens
        let costs = route.targets.indices.map { index in
            index < route.prices.count ? route.prices[index]?.estimate(inputTokens: input, outputTokens: output) : nil
        }
        return route.targets.indices.sorted { lhs, rhs in
            switch (costs[lhs], costs[rhs]) {
            case (let a?, let b?): a != b ? a < b : lhs < rhs
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): lhs < rhs
            }
        }.map { route.targets[$0] }
    }

    /// Weighted sampling without replacement: the first target is drawn by weight, then the next among the rest.
    static func weightedOrder(_ targets: [TargetState], weights: [Double], using generator: inout some RandomNumberGenerator) -> [TargetState] {
        var remaining = Array(zip(targets, weights.count == targets.count ? weights : Array(repeating: 1, count: targets.count)))
        var ordered: [TargetState] = []
        ordered.reserveCapacity(targets.count)
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + max($1.1, 0) }
            guard total > 0 else {
                ordered.append(contentsOf: remaining.map(\.0))
                break
            }
            var pick = Double.random(in: 0..<total, using: &generator)
            var chosen = remaining.count - 1
            for (index, entry) in remaining.enumerated() {
                pick -= max(entry.1, 0)
                if pick < 0 {
                    chosen = index
                    break
                }
            }
            ordered.append(remaining.remove(at: chosen).0)
        }
        return ordered
    }
}
