/// An immutable value kept on the heap, for a type that must be small where it is stored.
///
/// The errors the attempt chain throws use it: a typed-throwing async call reserves room for its error in
/// the caller's frame, and a task keeps the memory of its deepest chain of frames until it ends (a stream's
/// task: minutes). Held here, an error is one reference at each such call instead of ~100 bytes. A changed
/// field makes a new box; failures are the rare path, and the success path never makes one.
final class HeapBox<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// A new box holding `value` with `field` set to `newValue`.
    func replacing<Field>(_ field: WritableKeyPath<Value, Field>, with newValue: Field) -> HeapBox {
        var changed = value
        changed[keyPath: field] = newValue
        return HeapBox(changed)
    }
}
