import Testing
@testable import Strategies

@Suite("SignalSubjectTemplate")
struct SignalSubjectTests {
    static func signal(strategyId: String = "orderbook_skew", symbol: String = "BTCUSDT") -> Signal {
        Signal(strategyId: strategyId, key: SymbolKey(venue: .spot, symbol: symbol), action: .buy, confidence: 0.7,
               price: 100, currentPrice: 100, eventTimeMs: 0, reasoning: "")
    }

    @Test("the documented templates are valid and substitute the strategy id")
    func validTemplates() throws {
        #expect(try SignalSubjectTemplate("signals.trading").subject(for: Self.signal()) == "signals.trading")
        #expect(try SignalSubjectTemplate("signals.trading.{strategy_id}").subject(for: Self.signal())
            == "signals.trading.orderbook_skew")
        #expect(try SignalSubjectTemplate("cio.intent.trading.{strategy_id}").subject(for: Self.signal())
            == "cio.intent.trading.orderbook_skew")
        #expect(try SignalSubjectTemplate("signals.{symbol}.{strategy_id}").subject(for: Self.signal())
            == "signals.BTCUSDT.orderbook_skew")
        #expect(try SignalSubjectTemplate("sig-{strategy_id}-{symbol}").subject(for: Self.signal()) == "sig-orderbook_skew-BTCUSDT")
        #expect(try SignalSubjectTemplate.validated("signals.trading.{strategy_id}").template == "signals.trading.{strategy_id}")
        #expect(try SignalSubjectTemplate("signals.trading").isConstant)
        #expect(try !SignalSubjectTemplate("signals.trading.{symbol}").isConstant)
    }

    @Test("dots, spaces and wildcards in values become underscores so each value is one token")
    func sanitisedValues() throws {
        let template = try SignalSubjectTemplate("signals.trading.{strategy_id}")
        #expect(template.subject(for: Self.signal(strategyId: "Spread Liquidity Monitor")) == "signals.trading.Spread_Liquidity_Monitor")
        #expect(template.subject(for: Self.signal(strategyId: "a.b*c>d")) == "signals.trading.a_b_c_d")
        #expect(template.subject(for: Self.signal(strategyId: "tab\there\nnl")) == "signals.trading.tab_here_nl")
        #expect(template.subject(for: Self.signal(strategyId: "")) == "signals.trading._")
        #expect(SignalSubjectTemplate.token("x.y z") == "x_y_z")
    }

    @Test("invalid templates are refused with a typed error naming the problem")
    func invalidTemplates() {
        let cases: [(String, SignalSubjectError)] = [
            ("", .empty),
            ("signals.trading.*", .wildcard(template: "signals.trading.*")),
            ("signals.>", .wildcard(template: "signals.>")),
            ("signals.trading.", .emptyToken(template: "signals.trading.")),
            (".signals", .emptyToken(template: ".signals")),
            ("signals..trading", .emptyToken(template: "signals..trading")),
            ("signals trading", .whitespace(template: "signals trading")),
            ("signals.\ttrading", .whitespace(template: "signals.\ttrading")),
            ("signals.{strategy}", .unknownPlaceholder(template: "signals.{strategy}", name: "strategy")),
            ("signals.{strategy_id", .unbalancedBrace(template: "signals.{strategy_id")),
            ("signals.strategy_id}", .unbalancedBrace(template: "signals.strategy_id}")),
        ]
        for (template, expected) in cases {
            #expect(throws: expected) { try SignalSubjectTemplate(template) }
        }
        do {
            _ = try SignalSubjectTemplate("signals.trading.>")
            Issue.record("expected a throw")
        } catch {
            #expect(error.description.contains("wildcard"))
            #expect(error.description.contains("signals.trading.>"))
        }
    }

    @Test("a placeholder alone is a valid token, even at the edges")
    func placeholderTokens() throws {
        #expect(try SignalSubjectTemplate("{strategy_id}").subject(for: Self.signal()) == "orderbook_skew")
        #expect(try SignalSubjectTemplate("{symbol}.{strategy_id}").subject(for: Self.signal(symbol: "ETH.USDT")) == "ETH_USDT.orderbook_skew")
    }
}
