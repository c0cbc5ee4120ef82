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
