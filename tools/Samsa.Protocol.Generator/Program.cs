using Samsa.Protocol.Generator;

// Reads Kafka's JSON message schemas and writes one C# type per schema into src/Samsa.Protocol/Generated,
// plus random-sample builders for the round-trip tests. Files are rewritten only when their content
// changes and outputs whose schema disappeared are deleted. With --check nothing is written and the exit
// code says whether the committed output is up to date.
const string Command = "dotnet run --project tools/Samsa.Protocol.Generator";

string? root = null;
string? schemas = null;
var check = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--schemas" when i + 1 < args.Length:
            schemas = Path.GetFullPath(args[++i]);
            break;
        case "--root" when i + 1 < args.Length:
            root = Path.GetFullPath(args[++i]);
            break;
        case "--check":
            check = true;
            break;
        default:
            Console.Error.WriteLine($"usage: {Command} [--schemas DIR] [--root REPO] [--check]");
            return 2;
    }
}
root ??= FindRepositoryRoot(Directory.GetCurrentDirectory());
schemas ??= Path.GetFullPath(Path.Combine(root, "..", "shared", "kafka-protocol"));
if (!Directory.Exists(schemas))
{
    Console.Error.WriteLine($"error: schema folder {schemas} does not exist");
    return 1;
}

var folders = new (string Folder, string Namespace)[]
{
    ("messages", "Samsa.Protocol.Messages"),
    ("metadata", "Samsa.Protocol.MetadataRecords"),
    ("group-coordinator", "Samsa.Protocol.GroupCoordinatorRecords"),
    ("transaction-coordinator", "Samsa.Protocol.TransactionCoordinatorRecords"),
    ("share-coordinator", "Samsa.Protocol.ShareCoordinatorRecords"),
    ("raft", "Samsa.Protocol.RaftRecords"),
    ("storage", "Samsa.Protocol.StorageRecords"),
};

var generatedDir = Path.Combine(root, "src", "Samsa.Protocol", "Generated");
var samplesDir = Path.Combine(root, "tests", "Samsa.Protocol.Tests", "Generated");
var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
var requests = new List<MessageSpec>();
var structures = new StructureEmitter(Command);
var responses = new Dictionary<short, MessageSpec>();

foreach (var (folder, ns) in folders)
{
    var dir = Path.Combine(schemas, folder);
    if (!Directory.Exists(dir))
    {
        continue;
    }
    var samples = new SampleEmitter(Command);
    var part = ns[(ns.LastIndexOf('.') + 1)..];
    samples.Begin(folder);
    foreach (var file in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
    {
        var relative = $"{folder}/{Path.GetFileName(file)}";
        try
        {
            var spec = SchemaLoader.Load(file);
            structures.Add(folder, file);
            var model = new MessageModel(spec);
            outputs[Path.Combine(generatedDir, part, spec.Name + ".g.cs")] = new MessageEmitter(model, ns, Command, relative).Emit();
            samples.Add(model, ns, relative);
            if (spec.ApiKey is { } key && spec.Type == "request")
            {
                requests.Add(spec);
            }
            else if (spec.ApiKey is { } responseKey && spec.Type == "response")
            {
                responses[responseKey] = spec;
            }
        }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"error: {relative}: {e.Message}");
            return 1;
        }
    }
    outputs[Path.Combine(samplesDir, $"MessageSamples.{part}.g.cs")] = samples.End(part);
}

requests.Sort((a, b) => a.ApiKey!.Value.CompareTo(b.ApiKey!.Value));
var missing = requests.Where(r => !responses.ContainsKey(r.ApiKey!.Value)).Select(r => r.Name).ToList();
if (missing.Count > 0)
{
    Console.Error.WriteLine($"error: no response schema for {string.Join(", ", missing)}");
    return 1;
}
outputs[Path.Combine(generatedDir, "ApiMessages.g.cs")] = RegistryEmitter.Emit(requests, responses, Command);
outputs[Path.Combine(generatedDir, "SchemaStructures.g.cs")] = structures.Emit();

var changed = 0;
foreach (var (path, text) in outputs)
{
    if (File.Exists(path) && File.ReadAllText(path) == text)
    {
        continue;
    }
    changed++;
    if (check)
    {
        Console.Error.WriteLine($"stale: {Path.GetRelativePath(root, path)}");
        continue;
    }
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllText(path, text);
}
foreach (var dir in new[] { generatedDir, samplesDir }.Where(Directory.Exists))
{
    foreach (var stale in Directory.GetFiles(dir, "*.g.cs", SearchOption.AllDirectories).Where(p => !outputs.ContainsKey(p)))
    {
        changed++;
        if (check)
        {
            Console.Error.WriteLine($"stale: {Path.GetRelativePath(root, stale)} (no schema)");
            continue;
        }
        File.Delete(stale);
    }
}
Console.WriteLine($"{outputs.Count} files generated from {schemas}, {changed} {(check ? "out of date" : "written or deleted")}");
return check && changed > 0 ? 1 : 0;

static string FindRepositoryRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException("Run the generator inside the Samsa repository (no Samsa.slnx found above the current folder).");
}
