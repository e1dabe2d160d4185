public import SwitchyardCore
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors that stop the gateway from starting, as one line an operator can act on.
public enum StartupFailure {
    /// A one-line explanation of `error` when it is a known start-up problem (the address is taken, not
    /// allowed, or does not exist on this machine); `nil` for anything else.
    public static func describe(_ error: any Error, listen: ListenAddress) -> String? {
        guard let io = error as? IOError else { return nil }
        switch io.errnoCode {
        case EADDRINUSE: return "cannot listen on \(listen): the address is already in use (is another gateway running?)"
        case EACCES: return "cannot listen on \(listen): permission denied (ports below 1024 need privileges)"
        case EADDRNOTAVAIL: return "cannot listen on \(listen): that address does not belong to this machine"
        default: return nil
        }
    }
}
