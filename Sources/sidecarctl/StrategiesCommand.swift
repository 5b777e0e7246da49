import ArgumentParser
import Foundation
import Sidecar
import Strategies

struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the strategies with their parameter schemas and environment variables.")

    @Flag(help: "Markdown tables (as in docs/STRATEGIES.md).") var markdown = false
    @Flag(help: "JSON for scripts.") var json = false

    func run() throws {
        if json {
            let document: [[String: Any]] = StrategySettings.catalog.map { descriptor in
                [
                    "id": descriptor.id,
                    "enabled_by_default": descriptor.enabledByDefault,
                    "enable_variable": StrategyEnvironment.enabledVariable(descriptor.id),
                    "parameters": descriptor.schema.map { spec -> [String: Any] in
                        var entry: [String: Any] = [
                            "name": spec.name, "type": spec.type.rawValue, "default": spec.defaultValue.description,
                            "description": spec.description,
                            "variable": StrategyEnvironment.variable(strategy: descriptor.id, parameter: spec.name),
                        ]
                        if let minimum = spec.minimum { entry["min"] = minimum }
                        if let maximum = spec.maximum { entry["max"] = maximum }
                        if !spec.allowed.isEmpty { entry["allowed"] = spec.allowed }
                        return entry
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for descriptor in StrategySettings.catalog {
            if markdown {
                print("#### `\(descriptor.id)` parameters\n")
                print("Switch: `\(StrategyEnvironment.enabledVariable(descriptor.id))` (default `\(descriptor.enabledByDefault)`).\n")
                print("| parameter | env variable | type | default | min | max | meaning |")
                print("|---|---|---|---|---|---|---|")
            } else {
                print("\(descriptor.id) (\(StrategyEnvironment.enabledVariable(descriptor.id)), default \(descriptor.enabledByDefault ? "on" : "off"))")
            }
            for spec in descriptor.schema {
                let variable = StrategyEnvironment.variable(strategy: descriptor.id, parameter: spec.name)
                let minimum = spec.minimum.map { "\($0)" } ?? ""
                let maximum = spec.maximum.map { "\($0)" } ?? ""
                let meaning = spec.allowed.isEmpty ? spec.description : "\(spec.description) (one of \(spec.allowed.joined(separator: ", ")))"
                if markdown {
                    print("| `\(spec.name)` | `\(variable)` | \(spec.type.rawValue) | `\(spec.defaultValue)` | \(minimum) | \(maximum) | \(meaning.replacingOccurrences(of: "|", with: "\\|")) |")
                } else {
                    print("  \(spec.name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(spec.type.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) default \(spec.defaultValue)  [\(minimum)…\(maximum)]  \(variable)")
                }
            }
            print("")
        }
    }
}
