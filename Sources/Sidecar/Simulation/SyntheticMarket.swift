import Strategies
/// A seeded, deterministic stream of Binance spot market data in the upstream socket-client
/// envelope, for the demo and `sidecarctl simulate`.
///
/// Every call to `next()` returns the next NATS payload in event-time order:
/// `{"stream":..,"data":..,"timestamp":..,"message_id":..,"source":"binance-websocket","version":"1.0"}`
/// with a raw Binance spot frame in `data` (wire contracts §A2, §A5):
/// - `<sym>@depth20@100ms` every `depthIntervalMs`: `{"lastUpdateId":N,"bids":[["p","q"],…],"asks":[…]}`,
///   20 levels per side, best first, never crossed, prices and quantities as 8-decimal strings
///   on the symbol's tick and lot size;
/// - `<sym>@trade` at about `tradesPerSecond` (exponential gaps), at the best bid or ask;
/// - `<sym>@ticker` every `tickerIntervalMs`: a `24hrTicker` whose open/high/low/volume cover the
///   time since `startTimeMs`.
///
/// The book's bid/ask volume balance follows a skew factor `s` (log of the top-5 bid/ask volume
/// ratio) that mean-reverts toward a regime target: mostly neutral (target 0, so the ratio stays
/// in 0.8…1.2), with occasional bid-heavy or ask-heavy episodes of a few seconds (|target| 0.35…0.6,
/// ratio about 1.4…1.8 or 0.55…0.7). `orderbook_skew` therefore fires now and then in bursts on both
/// sides, while the spread stays at 1–3 ticks (at most about 0.02 % of price).
///
/// The envelope `timestamp` is the event time written like socket-client does
/// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, and without the fraction when it is zero, as Python's
/// `isoformat()` does). `message_id` is a UUID-v4-shaped string derived from the seed and a counter.
///
/// Output is a pure function of the configuration: each symbol has its own generator seeded from
/// the seed and its name, and only integer and IEEE arithmetic is used (no libm), so the same
/// configuration gives the same bytes on every platform.
public struct SyntheticMarket {
    public struct Configuration: Sendable {
        public var symbols: [String] = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
        public var seed: UInt64 = 42
        /// 2026-01-01T00:00:00Z.
        public var startTimeMs: Int64 = 1_767_225_600_000
        public var depthIntervalMs: Int64 = 100
        /// Per symbol. 0 disables trades.
        public var tradesPerSecond: Int = 20
        /// Per symbol. 0 disables tickers.
        public var tickerIntervalMs: Int64 = 1000

        public init(symbols: [String] = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"], seed: UInt64 = 42,
                    startTimeMs: Int64 = 1_767_225_600_000, depthIntervalMs: Int64 = 100, tradesPerSecond: Int = 20,
                    tickerIntervalMs: Int64 = 1000) {
            self.symbols = symbols
            self.seed = seed
            self.startTimeMs = startTimeMs
            self.depthIntervalMs = depthIntervalMs
            self.tradesPerSecond = tradesPerSecond
            self.tickerIntervalMs = tickerIntervalMs
        }
    }

    /// The effective configuration (empty symbol lists and non-positive depth intervals are
    /// replaced by the defaults).
    public let configuration: Configuration
    private var markets: [SimulatedSymbol]
    private var messageCounter: UInt64 = 0

    public init(_ configuration: Configuration) {
        var config = configuration
        var seen = Set<String>()
        config.symbols = config.symbols.map { $0.uppercased() }.filter { !$0.isEmpty && seen.insert($0).inserted }
        if config.symbols.isEmpty { config.symbols = Configuration().symbols }
        if config.depthIntervalMs <= 0 { config.depthIntervalMs = 100 }
        config.tradesPerSecond = max(0, config.tradesPerSecond)
        config.tickerIntervalMs = max(0, config.tickerIntervalMs)
        self.configuration = config
        markets = config.symbols.enumerated().map { index, name in
            SimulatedSymbol(name: name, index: index, config: config)
        }
    }

    /// The next NATS payload in event-time order: the upstream envelope
    /// {"stream","data","timestamp","message_id","source":"binance-websocket","version":"1.0"}
    /// with raw Binance spot payloads inside.
    public mutating func next() -> (eventTimeMs: Int64, payload: [UInt8]) {
        // The earliest pending event; ties go to depth, then trade, then ticker, then symbol order.
        var best = 0
        var bestKind = SimulatedSymbol.Kind.depth
        var bestTime = Int64.max
        for i in markets.indices {
            let (kind, time) = markets[i].nextEvent
            if time < bestTime || (time == bestTime && kind.rawValue < bestKind.rawValue) {
                best = i
                bestKind = kind
                bestTime = time
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bestKind == .depth ? 1400 : 480)
        out.append(contentsOf: #"{"stream":""#.utf8)
        out.append(contentsOf: markets[best].lowerName.utf8)
        switch bestKind {
        case .depth: out.append(contentsOf: #"@depth20@100ms","data":"#.utf8)
        case .trade: out.append(contentsOf: #"@trade","data":"#.utf8)
        case .ticker: out.append(contentsOf: #"@ticker","data":"#.utf8)
        }
        markets[best].emit(bestKind, into: &out)
        out.append(contentsOf: #","timestamp":""#.utf8)
        SimFormat.isoTimestamp(bestTime, into: &out)
        out.append(contentsOf: #"","message_id":""#.utf8)
        SimFormat.uuid(seed: configuration.seed, counter: messageCounter, into: &out)
        messageCounter &+= 1
        out.append(contentsOf: #"","source":"binance-websocket","version":"1.0"}"#.utf8)
        return (bestTime, out)
    }
}

// MARK: - Per-symbol state

private struct SimulatedSymbol {
    enum Kind: Int { case depth = 0, trade = 1, ticker = 2 }

    struct Spec {
        var basePrice: Double
        /// Tick and lot size in units of 1e-8.
        var tickUnits: Int64
        var stepUnits: Int64
        /// Typical notional of one book level, in quote currency.
        var levelNotional: Double
    }

    static func spec(for symbol: String) -> Spec {
        switch symbol {
        case "BTCUSDT": Spec(basePrice: 50_000, tickUnits: 1_000_000, stepUnits: 1_000, levelNotional: 40_000)
        case "ETHUSDT": Spec(basePrice: 3_000, tickUnits: 1_000_000, stepUnits: 10_000, levelNotional: 30_000)
        case "BNBUSDT": Spec(basePrice: 500, tickUnits: 1_000_000, stepUnits: 100_000, levelNotional: 15_000)
        case "SOLUSDT": Spec(basePrice: 150, tickUnits: 1_000_000, stepUnits: 100_000, levelNotional: 15_000)
        case "XRPUSDT": Spec(basePrice: 0.6, tickUnits: 10_000, stepUnits: 10_000_000, levelNotional: 10_000)
        case "ADAUSDT": Spec(basePrice: 0.5, tickUnits: 10_000, stepUnits: 10_000_000, levelNotional: 10_000)
        case "DOGEUSDT": Spec(basePrice: 0.15, tickUnits: 1_000, stepUnits: 100_000_000, levelNotional: 10_000)
        default: Spec(basePrice: 100, tickUnits: 1_000_000, stepUnits: 100_000, levelNotional: 10_000)
        }
    }

    static let levels = 20
    static let unitsPerWhole: Int64 = 100_000_000

    // Dynamics (per second unless noted).
    static let priceVolatility = 0.0001  // 1 bp/s random walk of the mid
    static let priceReversion = 1.0 / 3600  // toward the base price
    static let skewDrift = 0.00003  // mid drift per unit of skew
    static let skewReversion = 1.5  // OU speed of the skew toward its regime target
    static let skewVolatility = 0.04
    static let topLevelNoise = 0.07  // log-normal noise of the top-5 quantities
    static let deepLevelNoise = 0.4
    static let neutralMinMs = 10_000.0, neutralMeanMs = 40_000.0
    static let episodeMinMs = 2_000.0, episodeMeanMs = 5_000.0

    let name: String
    let lowerName: String
    let spec: Spec
    let tickSize: Double
    let stepSize: Double
    let depthIntervalMs: Int64
    let tradeGapMeanMs: Double
    let tickerIntervalMs: Int64
    let startTimeMs: Int64
    var rng: Xoshiro256StarStar

    var mid: Double
    var skew = 0.0
    var skewTarget = 0.0
    var regimeEndMs: Int64

    var bidTicks: [Int64] = []
    var bidSteps: [Int64] = []
    var askTicks: [Int64] = []
    var askSteps: [Int64] = []
    var lastUpdateId: Int64

    var nextDepthMs: Int64
    var nextTradeMs: Int64
    var nextTickerMs: Int64

    // Trades and ticker statistics since start (prices in ticks, quantities in steps).
    var nextTradeId: Int64
    var firstTradeId: Int64 = -1
    var lastTradeId: Int64 = -1
    var tradeCount: Int64 = 0
    var openTicks: Int64 = 0
    var highTicks: Int64 = 0
    var lowTicks: Int64 = 0
    var lastTicks: Int64 = 0
    var lastQtySteps: Int64 = 0
    var volumeSteps: Int64 = 0
    /// Σ price·qty in ticks·steps (exact; overflows only after centuries of simulated trading).
    var quoteTickSteps: Double = 0

    init(name: String, index: Int, config: SyntheticMarket.Configuration) {
        self.name = name
        lowerName = name.lowercased()
        spec = Self.spec(for: name)
        tickSize = Double(spec.tickUnits) / Double(Self.unitsPerWhole)
        stepSize = Double(spec.stepUnits) / Double(Self.unitsPerWhole)
        depthIntervalMs = config.depthIntervalMs
        tradeGapMeanMs = config.tradesPerSecond > 0 ? 1000 / Double(config.tradesPerSecond) : 0
        tickerIntervalMs = config.tickerIntervalMs
        startTimeMs = config.startTimeMs

        var nameHash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { nameHash = (nameHash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        rng = Xoshiro256StarStar(seed: config.seed ^ nameHash)

        mid = spec.basePrice * (1 + 0.002 * (rng.uniform() - 0.5))
        regimeEndMs = config.startTimeMs + Int64(5_000 + rng.uniform() * 55_000)
        lastUpdateId = 1_000_000_000 + Int64(rng.next() % 9_000_000_000)
        nextTradeId = 100_000_000 + Int64(rng.next() % 900_000_000)

        let offset = Int64(index) * 37
        nextDepthMs = config.startTimeMs + offset % config.depthIntervalMs
        nextTickerMs = config.tickerIntervalMs > 0 ? config.startTimeMs + (Int64(index) * 13) % config.tickerIntervalMs : .max
        nextTradeMs = .max

        bidTicks.reserveCapacity(Self.levels); bidSteps.reserveCapacity(Self.levels)
        askTicks.reserveCapacity(Self.levels); askSteps.reserveCapacity(Self.levels)
        rebuildBook()
        openTicks = (bidTicks[0] + askTicks[0]) / 2
        highTicks = openTicks
        lowTicks = openTicks
        lastTicks = openTicks
        if tradeGapMeanMs > 0 { nextTradeMs = config.startTimeMs + tradeGap() }
    }

    var nextEvent: (Kind, Int64) {
        var kind = Kind.depth
        var time = nextDepthMs
        if nextTradeMs < time { kind = .trade; time = nextTradeMs }
        if nextTickerMs < time { kind = .ticker; time = nextTickerMs }
        return (kind, time)
    }

    mutating func emit(_ kind: Kind, into out: inout [UInt8]) {
        switch kind {
        case .depth:
            let t = nextDepthMs
            step(to: t)
            rebuildBook()
            lastUpdateId += 1 + Int64(rng.next() % 40)
            writeDepth(into: &out)
            nextDepthMs = t + depthIntervalMs
        case .trade:
            let t = nextTradeMs
            trade(at: t, into: &out)
            nextTradeMs = t + tradeGap()
        case .ticker:
            let t = nextTickerMs
            writeTicker(at: t, into: &out)
            nextTickerMs = t + tickerIntervalMs
        }
    }

    // MARK: Dynamics

    mutating func tradeGap() -> Int64 {
        Int64(rng.exponential(mean: tradeGapMeanMs))
    }

    /// Advances the regime, the skew and the mid to `timeMs` (one depth interval).
    mutating func step(to timeMs: Int64) {
        if timeMs >= regimeEndMs {
            if skewTarget == 0 {
                let magnitude = 0.35 + 0.25 * rng.uniform()
                skewTarget = rng.uniform() < 0.5 ? magnitude : -magnitude
                regimeEndMs = timeMs + Int64(Self.episodeMinMs + rng.exponential(mean: Self.episodeMeanMs))
            } else {
                skewTarget = 0
                regimeEndMs = timeMs + Int64(Self.neutralMinMs + rng.exponential(mean: Self.neutralMeanMs))
            }
        }
        let dt = Double(depthIntervalMs) / 1000
        let sqrtDt = dt.squareRoot()
        skew += Self.skewReversion * (skewTarget - skew) * dt + Self.skewVolatility * sqrtDt * rng.normal()
        let drift = Self.priceReversion * (spec.basePrice - mid) / mid * dt + Self.skewDrift * skew * dt
        mid *= 1 + drift + Self.priceVolatility * sqrtDt * rng.normal()
        mid = min(max(mid, spec.basePrice * 0.2), spec.basePrice * 5)
    }

    /// Draws a fresh 20-level book around `mid` with the current skew.
    mutating func rebuildBook() {
        let midTicks = mid / tickSize
        let maxSpread = Int64(min(3, max(1, midTicks * 0.0002)))
        var spread: Int64 = 1
        if maxSpread > 1 {
            let u = rng.uniform()
            spread = u < 0.6 ? 1 : (u < 0.9 || maxSpread == 2 ? 2 : 3)
        }
        let bestBid = max(Int64(midTicks - Double(spread) / 2), Int64(4 * Self.levels))
        let bestAsk = bestBid + spread

        bidTicks.removeAll(keepingCapacity: true); bidSteps.removeAll(keepingCapacity: true)
        askTicks.removeAll(keepingCapacity: true); askSteps.removeAll(keepingCapacity: true)
        let baseQty = spec.levelNotional / mid
        var bid = bestBid
        var ask = bestAsk
        for level in 0..<Self.levels {
            if level > 0 {
                bid -= gap()
                ask += gap()
            }
            bidTicks.append(bid)
            askTicks.append(ask)
            let profile = baseQty * (1 + 0.15 * Double(level))
            let top = level < 5
            let noise = top ? Self.topLevelNoise : Self.deepLevelNoise
            let tilt = top ? skew / 2 : skew / 4
            var bidQty = profile * fastExp(tilt + noise * rng.normal())
            var askQty = profile * fastExp(-tilt + noise * rng.normal())
            if !top && rng.uniform() < 0.03 { bidQty *= 5 }
            if !top && rng.uniform() < 0.03 { askQty *= 5 }
            bidSteps.append(steps(bidQty))
            askSteps.append(steps(askQty))
        }
    }

    mutating func gap() -> Int64 {
        let u = rng.uniform()
        return u < 0.7 ? 1 : (u < 0.9 ? 2 : 3)
    }

    func steps(_ quantity: Double) -> Int64 {
        max(1, Int64(quantity / stepSize + 0.5))
    }

    mutating func trade(at timeMs: Int64, into out: inout [UInt8]) {
        let buyProbability = 0.5 + 0.25 * min(max(skew, -1), 1)
        let buyerIsTaker = rng.uniform() < buyProbability
        let priceTicks = buyerIsTaker ? askTicks[0] : bidTicks[0]
        let notional = spec.levelNotional / 40 * min(fastExp(0.8 * rng.normal()), 20)
        let qtySteps = steps(notional / (Double(priceTicks) * tickSize))
        let id = nextTradeId
        nextTradeId += 1
        if firstTradeId < 0 { firstTradeId = id }
        lastTradeId = id
        tradeCount += 1
        lastTicks = priceTicks
        lastQtySteps = qtySteps
        highTicks = max(highTicks, priceTicks)
        lowTicks = min(lowTicks, priceTicks)
        volumeSteps += qtySteps
        quoteTickSteps += Double(priceTicks) * Double(qtySteps)
        let tradeTime = max(startTimeMs, timeMs - Int64(rng.next() % 3))

        out.append(contentsOf: #"{"e":"trade","E":"#.utf8)
        SimFormat.int(timeMs, into: &out)
        out.append(contentsOf: #","s":""#.utf8)
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: #"","t":"#.utf8)
        SimFormat.int(id, into: &out)
        out.append(contentsOf: #","p":""#.utf8)
        SimFormat.units(priceTicks * spec.tickUnits, into: &out)
        out.append(contentsOf: #"","q":""#.utf8)
        SimFormat.units(qtySteps * spec.stepUnits, into: &out)
        out.append(contentsOf: #"","T":"#.utf8)
        SimFormat.int(tradeTime, into: &out)
        // `m`: the buyer was the maker, i.e. the seller was the taker.
        out.append(contentsOf: (buyerIsTaker ? #","m":false,"M":true}"# : #","m":true,"M":true}"#).utf8)
    }

    func writeDepth(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"lastUpdateId":"#.utf8)
        SimFormat.int(lastUpdateId, into: &out)
        out.append(contentsOf: #","bids":["#.utf8)
        writeLevels(bidTicks, bidSteps, into: &out)
        out.append(contentsOf: #"],"asks":["#.utf8)
        writeLevels(askTicks, askSteps, into: &out)
        out.append(contentsOf: "]}".utf8)
    }

    func writeLevels(_ ticks: [Int64], _ steps: [Int64], into out: inout [UInt8]) {
        for i in ticks.indices {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"[""#.utf8)
            SimFormat.units(ticks[i] * spec.tickUnits, into: &out)
            out.append(contentsOf: #"",""#.utf8)
            SimFormat.units(steps[i] * spec.stepUnits, into: &out)
            out.append(contentsOf: #""]"#.utf8)
        }
    }

    func writeTicker(at timeMs: Int64, into out: inout [UInt8]) {
        let tick = spec.tickUnits
        let changeTicks = lastTicks - openTicks
        let changePercent = Double(changeTicks) / Double(openTicks) * 100
        let volume = Double(volumeSteps) * stepSize
        let quoteVolume = quoteTickSteps * tickSize * stepSize
        let weighted = volumeSteps > 0 ? quoteVolume / volume : Double(lastTicks) * tickSize

        func field(_ key: String, _ write: (inout [UInt8]) -> Void) {
            out.append(contentsOf: #",""#.utf8)
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: #"":""#.utf8)
            write(&out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #"{"e":"24hrTicker","E":"#.utf8)
        SimFormat.int(timeMs, into: &out)
        field("s") { $0.append(contentsOf: name.utf8) }
        field("p") { SimFormat.units(changeTicks * tick, into: &$0) }
        field("P") { SimFormat.fixed(changePercent, decimals: 3, into: &$0) }
        field("w") { SimFormat.fixed(weighted, decimals: 8, into: &$0) }
        field("x") { SimFormat.units(openTicks * tick, into: &$0) }
        field("c") { SimFormat.units(lastTicks * tick, into: &$0) }
        field("Q") { SimFormat.units(lastQtySteps * spec.stepUnits, into: &$0) }
        field("b") { SimFormat.units(bidTicks[0] * tick, into: &$0) }
        field("B") { SimFormat.units(bidSteps[0] * spec.stepUnits, into: &$0) }
        field("a") { SimFormat.units(askTicks[0] * tick, into: &$0) }
        field("A") { SimFormat.units(askSteps[0] * spec.stepUnits, into: &$0) }
        field("o") { SimFormat.units(openTicks * tick, into: &$0) }
        field("h") { SimFormat.units(highTicks * tick, into: &$0) }
        field("l") { SimFormat.units(lowTicks * tick, into: &$0) }
        field("v") { SimFormat.units(volumeSteps * spec.stepUnits, into: &$0) }
        field("q") { SimFormat.fixed(quoteVolume, decimals: 8, into: &$0) }
        out.append(contentsOf: #","O":"#.utf8)
        SimFormat.int(startTimeMs, into: &out)
        out.append(contentsOf: #","C":"#.utf8)
        SimFormat.int(timeMs, into: &out)
        out.append(contentsOf: #","F":"#.utf8)
        SimFormat.int(firstTradeId, into: &out)
        out.append(contentsOf: #","L":"#.utf8)
        SimFormat.int(lastTradeId, into: &out)
        out.append(contentsOf: #","n":"#.utf8)
        SimFormat.int(tradeCount, into: &out)
        out.append(UInt8(ascii: "}"))
    }
}

// MARK: - Random numbers (pure integer and IEEE arithmetic, no libm)

private struct Xoshiro256StarStar {
    var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var sm = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9e37_79b9_7f4a_7c15
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        s0 = splitMix(&sm); s1 = splitMix(&sm); s2 = splitMix(&sm); s3 = splitMix(&sm)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Approximately standard normal (Irwin–Hall sum of 12 uniforms, range ±6).
    mutating func normal() -> Double {
        var sum = 0.0
        for _ in 0..<12 { sum += uniform() }
        return sum - 6
    }

    /// Exponential with the given mean.
    mutating func exponential(mean: Double) -> Double {
        let u = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]
        return -fastLog(u) * mean
    }
}

private let ln2 = 0.693_147_180_559_945_3

/// Natural logarithm for finite x > 0: exponent split plus the atanh series on [√½, √2).
private func fastLog(_ x: Double) -> Double {
    guard x > 0, x.isFinite else { return x == 0 ? -.infinity : .nan }
    var e = Double(Int(x.exponent))
    var m = x.significand  // [1, 2)
    if m > 1.414_213_562_373_095 {
        m *= 0.5
        e += 1
    }
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    var term = t
    var sum = 0.0
    var k = 1.0
    for _ in 0..<14 {
        sum += term / k
        term *= t2
        k += 2
    }
    return e * ln2 + 2 * sum
}

/// e^x for |x| ≤ 700: range reduction by ln 2 and a Taylor series on |r| ≤ ½·ln 2.
private func fastExp(_ x: Double) -> Double {
    let x = min(max(x, -700), 700)
    let k = Int(x / ln2 + (x >= 0 ? 0.5 : -0.5))
    let r = x - Double(k) * ln2
    var term = 1.0
    var sum = 1.0
    for i in 1...18 {
        term *= r / Double(i)
        sum += term
    }
    return sum * Double(bitPattern: UInt64(1023 + k) << 52)
}

// MARK: - Formatting

private enum SimFormat {
    static func int(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        uint(value.magnitude, minDigits: 1, into: &out)
    }

    static func uint(_ value: UInt64, minDigits: Int, into out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var v = value
            var count = 0
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                count += 1
            } while v > 0 || count < minDigits
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// A fixed-point value in units of 1e-8 as a decimal with 8 decimals (`"94250.01000000"`).
    static func units(_ units: Int64, into out: inout [UInt8]) {
        if units < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = units.magnitude
        uint(magnitude / 100_000_000, minDigits: 1, into: &out)
        out.append(UInt8(ascii: "."))
        uint(magnitude % 100_000_000, minDigits: 8, into: &out)
    }

    /// A double with a fixed number of decimals (≤ 9), rounded half away from zero.
    static func fixed(_ value: Double, decimals: Int, into out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: "0".utf8)
            return
        }
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let magnitude = value.magnitude
        var whole = magnitude < 1.8e19 ? UInt64(magnitude) : UInt64.max / scale
        var fraction = UInt64((magnitude - Double(whole)) * Double(scale) + 0.5)
        if fraction >= scale {
            whole += 1
            fraction -= scale
        }
        if value < 0 && (whole > 0 || fraction > 0) { out.append(UInt8(ascii: "-")) }
        uint(whole, minDigits: 1, into: &out)
        if decimals > 0 {
            out.append(UInt8(ascii: "."))
            uint(fraction, minDigits: decimals, into: &out)
        }
    }

    /// socket-client's envelope timestamp: `datetime.utcnow().isoformat() + "Z"`, i.e.
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, and `YYYY-MM-DDTHH:MM:SSZ` when the microseconds are 0.
    static func isoTimestamp(_ epochMs: Int64, into out: inout [UInt8]) {
        var days = epochMs / 86_400_000
        var msOfDay = epochMs % 86_400_000
        if msOfDay < 0 {
            msOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = CivilCalendar.civilFromDays(days)

        uint(UInt64(max(0, year)), minDigits: 4, into: &out)
        out.append(UInt8(ascii: "-"))
        uint(UInt64(month), minDigits: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        uint(UInt64(day), minDigits: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        uint(UInt64(msOfDay / 3_600_000), minDigits: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        uint(UInt64(msOfDay / 60_000 % 60), minDigits: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        uint(UInt64(msOfDay / 1000 % 60), minDigits: 2, into: &out)
        let millis = msOfDay % 1000
        if millis != 0 {
            out.append(UInt8(ascii: "."))
            uint(UInt64(millis) * 1000, minDigits: 6, into: &out)
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// A UUID-v4-shaped id from the seed and a counter.
    static func uuid(seed: UInt64, counter: UInt64, into out: inout [UInt8]) {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9e37_79b9_7f4a_7c15
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var hi = mix(seed ^ mix(counter))
        var lo = mix(hi ^ counter ^ 0x5851_f42d_4c95_7f2d)
        hi = (hi & ~0x0000_0000_0000_F000) | 0x0000_0000_0000_4000
        lo = (lo & ~0xC000_0000_0000_0000) | 0x8000_0000_0000_0000
        func hex(_ nibble: UInt64) -> UInt8 {
            let n = UInt8(truncatingIfNeeded: nibble & 0xF)
            return n < 10 ? UInt8(ascii: "0") + n : UInt8(ascii: "a") + n - 10
        }
        for i in 0..<16 {
            if i == 8 || i == 12 { out.append(UInt8(ascii: "-")) }
            out.append(hex(hi >> UInt64(60 - 4 * i)))
        }
        for i in 0..<16 {
            if i == 0 || i == 4 { out.append(UInt8(ascii: "-")) }
            out.append(hex(lo >> UInt64(60 - 4 * i)))
        }
    }
}
