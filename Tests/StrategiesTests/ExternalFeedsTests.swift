import Testing
@testable import Strategies

@Suite("external feeds: reference prices and on-chain metrics")
struct ExternalFeedsTests {
    static func reference(_ json: String) -> Result<ReferencePriceEvent, FeedRejectReason> {
        ReferencePriceEvent.parse(json)
    }

    static func metrics(_ json: String) -> Result<OnchainMetricsEvent, FeedRejectReason> {
        OnchainMetricsEvent.parse(json)
    }

    static func rejection<T>(_ r: Result<T, FeedRejectReason>) -> FeedRejectReason? {
        if case .failure(let e) = r { return e }
        return nil
    }

    @Test("subjects and their environment variables")
    func subjects() {
        #expect(ReferencePriceEvent.subjectVariable == "REFERENCE_PRICES_SUBJECT")
        #expect(ReferencePriceEvent.defaultSubject == "reference.prices")
        #expect(OnchainMetricsEvent.subjectVariable == "ONCHAIN_METRICS_SUBJECT")
        #expect(OnchainMetricsEvent.defaultSubject == "onchain.metrics")
    }

    @Test("a reference price with a number price and ms timestamp parses and maps USD to the USDT pair")
    func referenceNumbers() throws {
        let e = try Self.reference(#"{"venue":"Coinbase","symbol":"BTC-USD","price":50400.5,"ts":1767225600000}"#).get()
        #expect(e.venue == "coinbase")
        #expect(e.symbol == "BTCUSD")
        #expect(e.binanceSymbol == "BTCUSDT")
        #expect(e.quotedInUSD)
        #expect(e.price == 50_400.5)
        #expect(e.eventTimeMs == 1_767_225_600_000)
    }

    @Test("string prices, ISO-8601 and integer-string timestamps, unknown keys and escapes are accepted")
    func referenceStrings() throws {
        let e = try Self.reference(#"""
            { "ts" : "2026-01-01T00:00:00.250Z", "extra": {"nested": [1, 2, {"x": null}]},
              "price": "3030.10", "symbol": "eth/usdt", "venue": "kraken", "source": null }
            """#).get()
        #expect(e.eventTimeMs == 1_767_225_600_250)
        #expect(e.price == 3030.10)
        #expect(e.binanceSymbol == "ETHUSDT")
        #expect(!e.quotedInUSD)
        let offset = try Self.reference(#"{"venue":"okx","symbol":"SOL_USDT","price":1,"ts":"2026-01-01T02:00:00+02:00"}"#).get()
        #expect(offset.eventTimeMs == 1_767_225_600_000)
        let digits = try Self.reference(#"{"venue":"okx","symbol":"SOLUSDT","price":1,"ts":"1767225600000"}"#).get()
        #expect(digits.eventTimeMs == 1_767_225_600_000)
        let escaped = try Self.reference(#"{"v\u0065nue":"bit\u0073tamp","symbol":"BTC\/USD","price":1e2,"ts":1767225600000}"#).get()
        #expect(escaped.venue == "bitstamp")
        #expect(escaped.symbol == "BTCUSD")
        #expect(escaped.price == 100)
        // The last of a repeated key wins.
        let repeated = try Self.reference(#"{"venue":"a","symbol":"BTCUSD","price":1,"price":2,"ts":1767225600000}"#).get()
        #expect(repeated.price == 2)
    }

    @Test("bad reference payloads are rejected with a typed reason")
    func referenceRejections() {
        let ok = #""venue":"coinbase","symbol":"BTC-USD""#
        let cases: [(String, FeedRejectReason)] = [
            ("", .malformedJSON),
            ("not json", .malformedJSON),
            ("[1,2]", .malformedJSON),
            (#"{"venue":"coinbase","#, .malformedJSON),
            (#"{"venue":"coinbase",}"#, .malformedJSON),
            (#"{"venue":"x","symbol":"BTCUSD","price":1,"ts":1767225600000} trailing"#, .malformedJSON),
            ("{\(ok),\"ts\":1767225600000}", .missingField),
            ("{\(ok),\"price\":null,\"ts\":1767225600000}", .missingField),
            ("{\(ok),\"price\":50000}", .missingField),
            ("{\"symbol\":\"BTCUSD\",\"price\":1,\"ts\":1767225600000}", .missingField),
            ("{\(ok),\"price\":\"abc\",\"ts\":1767225600000}", .invalidNumber),
            ("{\(ok),\"price\":\"nan\",\"ts\":1767225600000}", .invalidNumber),
            ("{\(ok),\"price\":1e999,\"ts\":1767225600000}", .invalidNumber),
            ("{\(ok),\"price\":1,\"ts\":1767225600000,\"other\":-1e400}", .invalidNumber),
            ("{\(ok),\"price\":0,\"ts\":1767225600000}", .outOfRange),
            ("{\(ok),\"price\":-5,\"ts\":1767225600000}", .outOfRange),
            ("{\(ok),\"price\":{},\"ts\":1767225600000}", .wrongType),
            ("{\"venue\":5,\"symbol\":\"BTCUSD\",\"price\":1,\"ts\":1767225600000}", .wrongType),
            ("{\(ok),\"price\":1,\"ts\":true}", .wrongType),
            ("{\(ok),\"price\":1,\"ts\":1767225600}", .invalidTimestamp),
            ("{\(ok),\"price\":1,\"ts\":1767225600000.5}", .invalidTimestamp),
            ("{\(ok),\"price\":1,\"ts\":\"yesterday\"}", .invalidTimestamp),
            ("{\(ok),\"price\":1,\"ts\":\"2026-01-01T00:00:00\"}", .invalidTimestamp),
            ("{\(ok),\"price\":1,\"ts\":-1767225600000}", .invalidTimestamp),
            ("{\"venue\":\"coin base\",\"symbol\":\"BTCUSD\",\"price\":1,\"ts\":1767225600000}", .invalidName),
            ("{\"venue\":\"\",\"symbol\":\"BTCUSD\",\"price\":1,\"ts\":1767225600000}", .invalidName),
            ("{\"venue\":\"x\",\"symbol\":\"B\",\"price\":1,\"ts\":1767225600000}", .invalidName),
            ("{\"venue\":\"x\",\"symbol\":\"BTC USD\",\"price\":1,\"ts\":1767225600000}", .invalidName),
            ("{\"venue\":\"x\",\"symbol\":\"BTCÜSD\",\"price\":1,\"ts\":1767225600000}", .invalidName),
            ("{\"venue\":\"x\",\"symbol\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ\",\"price\":1,\"ts\":1767225600000}", .invalidName),
        ]
        for (json, reason) in cases {
            #expect(Self.rejection(Self.reference(json)) == reason, "\(json)")
        }
    }

    @Test("on-chain metrics parse with the documented names and the seed's aliases")
    func metricsParse() throws {
        let e = try Self.metrics(#"""
            {"asset":"btc","ts":"2026-01-01T00:00:00Z","active_addresses":1010000,"transaction_volume":"520000",
             "hash_rate":201,"exchange_inflow":1500,"exchange_outflow":2500,"note":"x"}
            """#).get()
        #expect(e == OnchainMetricsEvent(asset: "BTC", eventTimeMs: 1_767_225_600_000, activeAddresses: 1_010_000,
                                         transactionVolume: 520_000, hashRate: 201, exchangeInflow: 1500,
                                         exchangeOutflow: 2500))
        #expect(e.defiTVL == nil)
        let seed = try Self.metrics(#"""
            {"asset":"ETH","ts":1767225600000,"active_addresses":800000,"transaction_volume_eth":300000,
             "defi_tvl_usd":50000000000,"exchange_inflow_eth":50000,"exchange_outflow_eth":60000,"avg_gas_price":50}
            """#).get()
        #expect(seed.transactionVolume == 300_000)
        #expect(seed.defiTVL == 50_000_000_000)
        #expect(seed.exchangeInflow == 50_000)
        #expect(seed.exchangeOutflow == 60_000)
        #expect(seed.hashRate == nil)
        let btcAliases = try Self.metrics(#"{"asset":"BTC","ts":1767225600000,"active_addresses":1,"transaction_volume_btc":2,"hash_rate_eh":3,"exchange_inflow_btc":4,"exchange_outflow_btc":5}"#).get()
        #expect(btcAliases.transactionVolume == 2 && btcAliases.hashRate == 3)
        #expect(btcAliases.exchangeInflow == 4 && btcAliases.exchangeOutflow == 5)
    }

    @Test("bad on-chain payloads are rejected with a typed reason")
    func metricsRejections() {
        let cases: [(String, FeedRejectReason)] = [
            ("{", .malformedJSON),
            (#"{"asset":"BTC","ts":1767225600000,"transaction_volume":1}"#, .missingField),
            (#"{"asset":"BTC","ts":1767225600000,"active_addresses":1}"#, .missingField),
            (#"{"ts":1767225600000,"active_addresses":1,"transaction_volume":1}"#, .missingField),
            (#"{"asset":"BTC","active_addresses":1,"transaction_volume":1}"#, .missingField),
            (#"{"asset":"BTC","ts":1767225600000,"active_addresses":-1,"transaction_volume":1}"#, .outOfRange),
            (#"{"asset":"BTC","ts":1767225600000,"active_addresses":1,"transaction_volume":1,"hash_rate":-3}"#, .outOfRange),
            (#"{"asset":"BTC","ts":1767225600000,"active_addresses":1,"transaction_volume":1,"hash_rate":"x"}"#, .invalidNumber),
            (#"{"asset":"BTC","ts":1767225600000,"active_addresses":[1],"transaction_volume":1}"#, .wrongType),
            (#"{"asset":"BT-C","ts":1767225600000,"active_addresses":1,"transaction_volume":1}"#, .invalidName),
            (#"{"asset":"BTC","ts":12,"active_addresses":1,"transaction_volume":1}"#, .invalidTimestamp),
        ]
        for (json, reason) in cases {
            #expect(Self.rejection(Self.metrics(json)) == reason, "\(json)")
        }
    }

    @Test("every reason maps to a market-data reject reason for shared counters")
    func reasonMapping() {
        #expect(FeedRejectReason.malformedJSON.rejectReason == .malformedJSON)
        #expect(FeedRejectReason.missingField.rejectReason == .missingField)
        #expect(FeedRejectReason.wrongType.rejectReason == .missingField)
        #expect(FeedRejectReason.invalidName.rejectReason == .missingField)
        #expect(FeedRejectReason.invalidNumber.rejectReason == .invalidNumber)
        #expect(FeedRejectReason.invalidTimestamp.rejectReason == .invalidNumber)
        #expect(FeedRejectReason.outOfRange.rejectReason == .negativeValue)
        #expect(Set(FeedRejectReason.allCases.map(\.description)).count == FeedRejectReason.allCases.count)
    }

    @Test("truncated and mutated payloads never crash and every strict prefix is rejected")
    func neverCrashes() {
        let payloads = [
            Array(#"{"venue":"coinbase","symbol":"BTC-USD","price":"50400.5","ts":"2026-01-01T00:00:00.250Z"}"#.utf8),
            Array(#"{"asset":"ETH","ts":1767225600000,"active_addresses":800000,"transaction_volume_eth":300000,"defi_tvl_usd":5e10,"x":"\u00e9\ud83d\ude00"}"#.utf8),
        ]
        for payload in payloads {
            for n in 0..<payload.count {
                let prefix = Array(payload[0..<n])
                #expect(Self.rejection(ReferencePriceEvent.parse(prefix)) != nil)
                #expect(Self.rejection(OnchainMetricsEvent.parse(prefix)) != nil)
            }
        }
        var seed: UInt64 = 3
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        let alphabet = Array(#"{}[]",:0123456789.eE-+ tfnrul\"#.utf8) + [0x00, 0xFF, 0xC3, 0x80]
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = payloads[Int(next() % 2)]
            for _ in 0..<(1 + next() % 4) {
                let i = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[i] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: i)
                }
            }
            if case .success = ReferencePriceEvent.parse(bytes) { parsed += 1 }
            if case .success = OnchainMetricsEvent.parse(bytes) { parsed += 1 }
        }
        #expect(parsed < 40_000)
    }
}
