using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Protocol;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa storage</c> = <c>kafka-storage.sh</c> (Kafka 4.0's <c>StorageTool</c>): <c>random-uuid</c> prints a
/// new cluster id; <c>format -t &lt;cluster id&gt; -c &lt;server.properties&gt;</c> writes <c>meta.properties</c> to
/// every log dir and the metadata log dir (refusing formatted dirs unless <c>--ignore-formatted</c>);
/// <c>info -c &lt;server.properties&gt;</c> shows what the dirs hold.
/// </summary>
internal sealed class StorageCommand
{
    private static readonly string MetadataVersion = Metadata.Controller.MetadataVersions.Name(Metadata.Controller.MetadataVersions.LatestProduction);

    public Command Build()
    {
        var command = new Command("storage", "Format and describe log directories (kafka-storage.sh).");

        var randomUuid = new Command("random-uuid", "Print a random UUID.");
        randomUuid.SetAction(_ => Console.WriteLine(Uuid.Random()));
        command.Add(randomUuid);

        var format = new Command("format", "Format the log directories of this node.");
        var clusterId = new Option<string>("--cluster-id", "-t") { Description = "The cluster ID to use.", Required = true };
        var config = new Option<string>("--config", "-c") { Description = "The Kafka configuration file to use.", Required = true };
        var ignoreFormatted = new Option<bool>("--ignore-formatted", "-g") { Description = "When this option is passed, the format command will skip over already formatted directories rather than failing." };
        var standalone = new Option<bool>("--standalone", "-s") { Description = "Used to initialize a controller as a single-node dynamic quorum." };
        format.Add(clusterId);
        format.Add(config);
        format.Add(ignoreFormatted);
        format.Add(standalone);
        format.SetAction((r, ct) => CommandRunner.RunAsync(() =>
        {
            Format(r.GetValue(clusterId)!, r.GetValue(config)!, r.GetValue(ignoreFormatted));
            return Task.CompletedTask;
        }, "", errorsToStdout: false));
        command.Add(format);

        var info = new Command("info", "Get information about the Kafka log directories on this node.");
        var infoConfig = new Option<string>("--config", "-c") { Description = "The Kafka configuration file to use.", Required = true };
        info.Add(infoConfig);
        info.SetAction((r, ct) => CommandRunner.RunAsync(() =>
        {
            Info(r.GetValue(infoConfig)!);
            return Task.CompletedTask;
        }, "", errorsToStdout: false));
        command.Add(info);
        return command;
    }

    private static KafkaConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CommandException($"{path} (No such file or directory)");
        }
        try
        {
            return KafkaConfig.Load(path, [], NullLogger.Instance);
        }
        catch (ConfigException e)
        {
            throw new CommandException(e.Message);
        }
    }

    private static List<string> Directories(KafkaConfig config)
    {
        var dirs = config.LogDirs.ToList();
        if (config.GetString("metadata.log.dir") is { } metadataDir && !dirs.Contains(metadataDir))
        {
            dirs.Add(metadataDir);
        }
        return dirs;
    }

    private static void Format(string clusterIdText, string configPath, bool ignoreFormatted)
    {
        if (!Uuid.TryParse(clusterIdText, out _))
        {
            throw new CommandException($"Cluster ID string {clusterIdText} does not appear to be a valid UUID: Input string `{clusterIdText}` decoded as {((clusterIdText.Length * 6) + 7) / 8} bytes, which is not equal to the expected 16 bytes of a base64-encoded UUID");
        }
        var config = Load(configPath);
        var metadataDir = config.GetString("metadata.log.dir") ?? config.LogDirs[0];
        var toFormat = new List<string>();
        foreach (var dir in Directories(config))
        {
            if (File.Exists(Path.Combine(dir, "meta.properties")))
            {
                if (!ignoreFormatted)
                {
                    throw new CommandException($"Log directory {dir} is already formatted. Use --ignore-formatted to ignore this directory and format the others.");
                }
                continue;
            }
            toFormat.Add(dir);
        }
        if (toFormat.Count == 0)
        {
            if (ignoreFormatted)
            {
                Console.WriteLine("All of the log directories are already formatted.");
                return;
            }
        }
        foreach (var dir in toFormat)
        {
            Directory.CreateDirectory(dir);
            new MetaProperties(clusterIdText, config.NodeId, Uuid.Random()).Write(dir, DateTimeOffset.Now);
            Console.WriteLine(dir == metadataDir
                ? $"Formatting metadata directory {dir} with metadata.version {MetadataVersion}."
                : $"Formatting data directory {dir} with metadata.version {MetadataVersion}.");
        }
    }

    private static void Info(string configPath)
    {
        var config = Load(configPath);
        var found = new List<string>();
        var missing = new List<string>();
        MetaProperties? meta = null;
        foreach (var dir in Directories(config))
        {
            if (!Directory.Exists(dir))
            {
                missing.Add(dir);
                continue;
            }
            found.Add(dir);
            meta ??= MetaProperties.Read(dir);
        }
        Console.WriteLine($"Found log director{(found.Count == 1 ? "y" : "ies")}:");
        foreach (var dir in found)
        {
            Console.WriteLine($"  {dir}");
        }
        Console.WriteLine();
        if (meta is not null)
        {
            Console.WriteLine($"Found metadata: {{cluster.id={meta.ClusterId}, directory.id={meta.DirectoryId}, node.id={meta.NodeId}, version=1}}");
            Console.WriteLine();
        }
        if (missing.Count > 0 || meta is null)
        {
            Console.WriteLine($"Found problem{(missing.Count + (meta is null ? 1 : 0) == 1 ? "" : "s")}:");
            foreach (var dir in missing)
            {
                Console.WriteLine($"  {dir} does not exist");
            }
            if (meta is null && found.Count > 0)
            {
                Console.WriteLine($"  {found[0]} is not formatted.");
            }
            Console.WriteLine();
            throw new CommandException("Storage is not formatted.");
        }
    }
}
