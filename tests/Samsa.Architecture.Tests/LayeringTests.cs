using System.Reflection;
using System.Text.RegularExpressions;

namespace Samsa.Architecture.Tests;

/// <summary>
/// The rooms depend one way only: Protocol &lt;- Storage &lt;- Metadata &lt;- Broker &lt;- Server. A reference
/// that points up the list (Storage seeing the network, Protocol seeing storage) fails here.
/// </summary>
public partial class LayeringTests
{
    private static readonly string[] Layers = ["Samsa.Protocol", "Samsa.Storage", "Samsa.Metadata", "Samsa.Broker", "samsa-server"];

    public static TheoryData<string> Assemblies() => [.. Layers];

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Room_ReferencesOnlyRoomsBelowIt(string name)
    {
        var level = Array.IndexOf(Layers, name);
        var samsaReferences = Load(name).GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(a => Array.IndexOf(Layers, a) >= 0);
        foreach (var reference in samsaReferences)
        {
            Assert.True(Array.IndexOf(Layers, reference) < level, $"{name} references {reference}, which sits above it");
        }
    }

    [Theory]
    [InlineData("Samsa.Protocol")]
    [InlineData("Samsa.Storage")]
    public void LowerRooms_DoNotTouchTheNetwork(string name)
    {
        var networking = Load(name).GetReferencedAssemblies().Select(a => a.Name!).Where(a => a.StartsWith("System.Net", StringComparison.Ordinal));
        Assert.Empty(networking);
    }

    /// <summary>
    /// The broker reaches the controller only through <c>IController</c>, so a broker-only node can put a remote
    /// controller behind it. Only <c>KafkaBroker</c>, which builds the combined node, may hold the local one.
    /// </summary>
    [Fact]
    public void BrokerTypes_HoldTheControllerOnlyThroughItsInterface()
    {
        var quorumController = Load("Samsa.Metadata").GetType("Samsa.Metadata.Controller.QuorumController", throwOnError: true)!;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var offenders = new List<string>();
        foreach (var type in Load("Samsa.Broker").GetTypes().Where(t => !IsKafkaBrokerOrItsClosures(t)))
        {
            offenders.AddRange(type.GetFields(all).Where(f => f.FieldType == quorumController).Select(f => $"{type.FullName}.{f.Name}"));
            offenders.AddRange(type.GetProperties(all).Where(p => p.PropertyType == quorumController).Select(p => $"{type.FullName}.{p.Name}"));
            offenders.AddRange(type.GetConstructors(all).Concat<MethodBase>(type.GetMethods(all))
                .SelectMany(m => m.GetParameters().Where(p => p.ParameterType == quorumController).Select(p => $"{type.FullName}.{m.Name}({p.Name})")));
        }
        Assert.Empty(offenders);
    }

    private static bool IsKafkaBrokerOrItsClosures(Type type) =>
        type.FullName == "Samsa.Broker.KafkaBroker" || type.FullName!.StartsWith("Samsa.Broker.KafkaBroker+", StringComparison.Ordinal);

    /// <summary>
    /// One clock per node: the broker, storage and metadata rooms take time only from the injected
    /// <see cref="TimeProvider"/>, so a test can run them on a fake clock. Measuring how long a thread was held
    /// (<c>Stopwatch</c>) is a diagnostic of the real machine and stays allowed.
    /// </summary>
    [Fact]
    public void NodeSources_TakeTimeOnlyFromTheTimeProvider()
    {
        var root = FindRoot();
        var offenders = new List<string>();
        foreach (var room in new[] { "Samsa.Broker", "Samsa.Storage", "Samsa.Metadata" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src", room), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                var text = File.ReadAllText(file);
                var uses = RawClock().Matches(text).Select(m => m.Value)
                    .Concat(TaskDelay().Matches(text).Where(m => !ClockArgument().IsMatch(m.Groups[1].Value)).Select(m => m.Value))
                    .Concat(PeriodicTimerCall().Matches(text).Where(m => !m.Groups[1].Value.Contains(',', StringComparison.Ordinal)).Select(m => m.Value));
                offenders.AddRange(uses.Select(u => $"{Path.GetRelativePath(root, file)}: {u}"));
            }
        }
        Assert.Empty(offenders);
    }

    [Theory]
    [InlineData("var now = DateTime.UtcNow;")]
    [InlineData("var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();")]
    [InlineData("long now = Environment.TickCount64;")]
    [InlineData("await Task.Delay(500, token);")]
    [InlineData("using var timer = new PeriodicTimer(period);")]
    [InlineData("_timer = new Timer(Tick, null, 0, 100);")]
    public void RawClockPatterns_AreRecognised(string line)
    {
        var found = RawClock().IsMatch(line)
            || TaskDelay().Matches(line).Any(m => !ClockArgument().IsMatch(m.Groups[1].Value))
            || PeriodicTimerCall().Matches(line).Any(m => !m.Groups[1].Value.Contains(',', StringComparison.Ordinal));
        Assert.True(found, line);
        Assert.All(TaskDelay().Matches("await Task.Delay(backoff, _time, token);"), m => Assert.Matches(ClockArgument(), m.Groups[1].Value));
    }

    [GeneratedRegex(@"\bDateTime(Offset)?\.(UtcNow|Now)\b|\bEnvironment\.TickCount(64)?\b|\bnew\s+(System\.Threading\.)?Timer\s*\(|\bThread\.Sleep\s*\(")]
    private static partial Regex RawClock();

    [GeneratedRegex(@"\bTask\.Delay\(([^;]*)\)")]
    private static partial Regex TaskDelay();

    [GeneratedRegex(@"\b_?time\b|\bTime\b|Timeout\.Infinite")]
    private static partial Regex ClockArgument();

    [GeneratedRegex(@"\bnew\s+PeriodicTimer\(([^;]*)\)")]
    private static partial Regex PeriodicTimerCall();

    /// <summary>Console output belongs to the entry points only; libraries log through ILogger.</summary>
    [Fact]
    public void LibrarySources_DoNotWriteToTheConsole()
    {
        var root = FindRoot();
        var offenders = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}Samsa.Server{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}Samsa.Cli{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => ConsoleUse().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(root, f));
        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"\bConsole\s*\.\s*(Write|WriteLine|Out|Error)\b")]
    private static partial Regex ConsoleUse();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Samsa.slnx not found");
    }
}
