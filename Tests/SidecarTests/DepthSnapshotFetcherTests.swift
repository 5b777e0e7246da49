import Foundation
import Testing
@testable import Sidecar
import Strategies

/// The REST depth snapshot answer, as Binance sends it; anything unusable is a typed error
/// (the end-to-end path against a loopback server is in tests/book-integrity).
@Suite("REST depth snapshots")
struct DepthSnapshotFetcherTests {
    let key = SymbolKey(venue: .usdm, symbol: "BTCUSDT")

    func parse(_ text: String) throws(DepthSnapshotFetcher.FetchError) -> BookSnapshot {
        try DepthSnapshotFetcher.parse(Data(text.utf8), key: key, limit: 100, url: "http://127.0.0.1/fapi/v1/depth")
    }

    @Test("a futures answer: id, levels best first as sent, E as event time, the request's limit")
    func futuresAnswer() throws {
        let s = try parse(#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"],["3.9","1"]],"asks":[["4.00000200","12.00000000"]]}"#)
        #expect(s.lastUpdateId == 1_027_024)
        #expect(s.bids == PriceLevels([(4, 431), (3.9, 1)]))
        #expect(s.asks == PriceLevels([(4.000002, 12)]))
        #expect(s.eventTimeMs == 1_589_436_922_972)
        #expect(s.limit == 100 && s.key == key)
    }

    @Test("unusable answers are typed errors naming the URL", arguments: [
        #"[]"#, #"{"bids":[],"asks":[]}"#, #"{"lastUpdateId":0,"bids":[],"asks":[]}"#,
        #"{"lastUpdateId":5,"bids":[["x","1"]],"asks":[]}"#, #"{"lastUpdateId":5,"bids":[["1","-1"]],"asks":[]}"#,
        #"{"lastUpdateId":5,"bids":[["2","1"]],"asks":[["1","1"]]}"#, #"{"lastUpdateId":5,"bids":[["1"]],"asks":[]}"#,
        #"{"lastUpdateId":5,"asks":[]}"#,
    ])
    func rejects(text: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains("http://127.0.0.1/fapi/v1/depth"))
        }
    }
}
