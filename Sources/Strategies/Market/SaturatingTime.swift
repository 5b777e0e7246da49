/// Time arithmetic on exchange values: an `E` or `T` can be any `Int64`, so differences clamp
/// instead of trapping (debug) or wrapping (`-Ounchecked`).
extension Int64 {
    /// `self - other`, clamped to the range instead of trapping (external timestamps).
    @inline(__always)
    public func subtractingSaturated(_ other: Int64) -> Int64 {
        let (r, overflow) = subtractingReportingOverflow(other)
        if !overflow { return r }
        return other < 0 ? .max : .min
    }

    @inline(__always)
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (r, overflow) = addingReportingOverflow(other)
        if !overflow { return r }
        return other > 0 ? .max : .min
    }
}
