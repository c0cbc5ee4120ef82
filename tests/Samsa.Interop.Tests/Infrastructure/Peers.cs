namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// The client programs the interop tests need. The README's test command installs them; a missing one is a
/// test failure (never a skip), with a message saying what to install.
/// </summary>
public static class Peers
{
    public const string Python = "/usr/bin/python3";

    public static void Require(string file)
    {
        if (Path.IsPathRooted(file) ? File.Exists(file) : OnPath(file))
        {
            return;
        }
        var hint = file switch
        {
            "kcat" => "apt-get install kcat",
            Python => "apt-get install python3 python3-kafka python3-confluent-kafka",
            "/usr/bin/Burrow" or "java" => "apt-get install burrow zookeeper",
            "promtool" => "apt-get install prometheus (only its promtool is used)",
            "node" => "apt-get install nodejs npm; ./test.sh runs npm ci in tests/Samsa.Interop.Tests/clients/js",
            "/usr/bin/chromium" => "apt-get install chromium (driven headless by playwright-core)",
            _ => "run the README's test command, which installs the client peers",
        };
        throw new InvalidOperationException($"Interop peer '{file}' is missing ({hint}).");
    }

    /// <summary>kafkajs, installed by ./test.sh (npm ci) from the committed package-lock.json.</summary>
    public static string KafkaJsScript(string name)
    {
        Require("node");
        var dir = Path.Combine(RepoPaths.Root, "tests", "Samsa.Interop.Tests", "clients", "js");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "kafkajs")))
        {
            throw new InvalidOperationException($"Interop peer kafkajs is missing (run `npm ci` in {dir}, as ./test.sh does).");
        }
        return Path.Combine(dir, name);
    }

    /// <summary>Another pinned package of clients/js/package.json (playwright-core), installed by ./test.sh with kafkajs.</summary>
    public static void RequireNodePackage(string name)
    {
        var dir = Path.Combine(RepoPaths.Root, "tests", "Samsa.Interop.Tests", "clients", "js");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", name)))
        {
            throw new InvalidOperationException($"Interop peer {name} is missing (run `npm ci` in {dir}, as ./test.sh does).");
        }
    }

    private static bool OnPath(string file) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, file)));
}
