using System.CommandLine;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Metadata.Quorum;
using Samsa.Protocol;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa storage</c> = <c>kafka-storage.sh</c> (Kafka 4.0's <c>StorageTool</c>): <c>random-uuid</c> prints a
/// new cluster id; <c>format -t &lt;cluster id&gt; -c &lt;server.properties&gt;</c> writes <c>meta.properties</c> to
/// every log dir and the metadata log dir (refusing formatted dirs unless <c>--ignore-formatted</c>), with
/// <c>bootstrap.checkpoint</c> beside it; <c>info -c &lt;server.properties&gt;</c> shows what the dirs hold.
/// <para>
/// KIP-853 dynamic quorums, as Kafka 4.0's <c>StorageTool</c> and <c>Formatter</c>: on a node whose process.roles
/// hold controller, <c>--initial-controllers id@host:port:directoryId,...</c> or <c>--standalone</c> (this node
/// alone, at its first controller listener, with a random directory id) writes the bootstrap snapshot
/// (<see cref="BootstrapVoters"/>) into the metadata log dir, whose meta.properties then carries this node's
/// directory id from the voter set. Either needs controller.quorum.voters unset; a controller without
/// controller.quorum.voters needs one of them or <c>--no-initial-controllers</c>.
/// </para>
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
        var standalone = new Option<bool>("--standalone", "-s")
        {
            Description = "Used to initialize a controller as a single-node dynamic quorum. When setting this flag, the controller.quorum.voters config must not be set, and controller.quorum.bootstrap.servers is set instead.",
        };
        var noInitialControllers = new Option<bool>("--no-initial-controllers", "-N")
        {
            Description = "Used to initialize a server without specifying a dynamic quorum. When setting this flag, the controller.quorum.voters config should not be set, and controller.quorum.bootstrap.servers is set instead.",
        };
        var initialControllers = new Option<string>("--initial-controllers", "-I")
        {
            Description = "Used to initialize a server with the specified dynamic quorum. The argument is a comma-separated list of id@hostname:port:directory. The same values must be used to format all nodes. For example:\n0@example.com:8082:JEXY6aqzQY-32P5TStzaFg,1@example.com:8083:MvDxzVmcRsaTz33bUuRU6A,2@example.com:8084:07R5amHmR32VDA6jHkGbTA\n. When setting this flag, the controller.quorum.voters config must not be set, and controller.quorum.bootstrap.servers is set instead.",
        };
        format.Add(clusterId);
        format.Add(config);
        format.Add(ignoreFormatted);
        format.Add(standalone);
        format.Add(noInitialControllers);
        format.Add(initialControllers);
        format.SetAction((r, ct) => CommandRunner.RunAsync(() =>
        {
            // argparse4j's mutually exclusive group: the later flag is refused, naming the earlier one.
            var given = r.Tokens
                .Select(t => t.Value)
                .Select(v => new[] { standalone, noInitialControllers, (Option)initialControllers }.FirstOrDefault(o => o.Name == v || o.Aliases.Contains(v)))
                .OfType<Option>()
                .Distinct()
                .ToList();
            if (given.Count > 1)
            {
                throw new CommandException($"argument {Textual(given[1])}: not allowed with argument {Textual(given[0])}");
            }
            Format(new FormatRequest(r.GetValue(clusterId)!, r.GetValue(config)!, r.GetValue(ignoreFormatted), r.GetValue(standalone), r.GetValue(noInitialControllers), r.GetValue(initialControllers)));
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

    private static string Textual(Option option) => string.Join("/", new[] { option.Name }.Concat(option.Aliases));

    internal sealed record FormatRequest(string ClusterId, string ConfigPath, bool IgnoreFormatted, bool Standalone, bool NoInitialControllers, string? InitialControllers);

    internal static void Format(FormatRequest request)
    {
        var clusterIdText = request.ClusterId;
        if (!Uuid.TryParse(clusterIdText, out _))
        {
            throw new CommandException($"Cluster ID string {clusterIdText} does not appear to be a valid UUID: Input string `{clusterIdText}` decoded as {((clusterIdText.Length * 6) + 7) / 8} bytes, which is not equal to the expected 16 bytes of a base64-encoded UUID");
        }
        var config = Load(request.ConfigPath);
        var initialVoters = InitialVoters(config, request);
        var metadataDir = config.GetString("metadata.log.dir") ?? config.LogDirs[0];
        var toFormat = new List<string>();
        foreach (var dir in Directories(config))
        {
            if (File.Exists(Path.Combine(dir, "meta.properties")))
            {
                if (!request.IgnoreFormatted)
                {
                    throw new CommandException($"Log directory {dir} is already formatted. Use --ignore-formatted to ignore this directory and format the others.");
                }
                continue;
            }
            toFormat.Add(dir);
        }
        if (toFormat.Count == 0)
        {
            if (request.IgnoreFormatted)
            {
                Console.WriteLine("All of the log directories are already formatted.");
                return;
            }
        }
        var now = DateTimeOffset.Now;
        var bootstrapRecords = FeatureControlManager.BootstrapRecords(MetadataImage.Empty(clusterIdText));
        foreach (var dir in toFormat)
        {
            // Kafka's Formatter.DirectoryType: the metadata dir of a dynamic quorum holds the bootstrap snapshot, and
            // a voter's carries the directory id the voter set names for it.
            var voter = dir == metadataDir ? initialVoters?.FirstOrDefault(v => v.Id == config.NodeId) : null;
            var description = dir != metadataDir ? "data directory"
                : initialVoters is null ? "metadata directory"
                : voter is not null ? "dynamic metadata voter directory"
                : "dynamic metadata directory";
            Console.WriteLine($"Formatting {description} {dir} with metadata.version {MetadataVersion}.");
            Directory.CreateDirectory(dir);
            BootstrapMetadataFile.Write(dir, bootstrapRecords, now.ToUnixTimeMilliseconds());
            if (dir == metadataDir && initialVoters is not null)
            {
                BootstrapVoters.Write(dir, initialVoters, now.ToUnixTimeMilliseconds());
            }
            new MetaProperties(clusterIdText, config.NodeId, voter?.DirectoryId ?? Uuid.Random()).Write(dir, now);
        }
    }

    /// <summary>
    /// The KIP-853 initial voter set to format with (Kafka's <c>StorageTool.runFormatCommand</c>): from
    /// --initial-controllers or --standalone on a controller; null for a static quorum, a broker-only node, or
    /// --no-initial-controllers.
    /// </summary>
    private static IReadOnlyList<QuorumVoter>? InitialVoters(KafkaConfig config, FormatRequest request)
    {
        var isController = config.ProcessRoles.Contains("controller");
        var staticVotersEmpty = config.GetList("controller.quorum.voters").Count == 0;
        if (!staticVotersEmpty && (request.InitialControllers is not null || request.Standalone))
        {
            throw new CommandException("You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone. " +
                "If you want to use dynamic quorum, please remove controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.");
        }
        if (request.Standalone && !isController)
        {
            throw new CommandException("You can only use --standalone on a controller.");
        }
        if (!isController)
        {
            return null;
        }
        if (request.InitialControllers is { } text)
        {
            try
            {
                return QuorumVoter.ParseInitialControllers(text, ControllerListenerName(config));
            }
            catch (FormatException e)
            {
                throw new CommandException(e.Message);
            }
        }
        if (request.Standalone)
        {
            var listener = AdvertisedControllerListener(config) ?? throw new CommandException("No controller listeners found.");
            var host = listener.Host.Length == 0 ? "localhost" : listener.Host;
            return [new QuorumVoter(config.NodeId, Uuid.Random(), [new VoterEndpoint(ControllerListenerName(config), host, listener.Port)])];
        }
        if (staticVotersEmpty && !request.NoInitialControllers)
        {
            throw new CommandException("Because controller.quorum.voters is not set on this controller, you must specify one of the following: " +
                "--standalone, --initial-controllers, or --no-initial-controllers.");
        }
        return null;
    }

    private static string ControllerListenerName(KafkaConfig config) =>
        config.ControllerListenerNames.FirstOrDefault() ?? throw new CommandException("You must specify the name of the initial controller listener.");

    /// <summary>
    /// Kafka's <c>effectiveAdvertisedControllerListeners.head</c>: for the first controller listener name, its entry
    /// in advertised.listeners, else in listeners.
    /// </summary>
    private static Endpoint? AdvertisedControllerListener(KafkaConfig config)
    {
        var advertised = (config.GetString("advertised.listeners") ?? "")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(uri =>
            {
                try
                {
                    return Endpoint.Parse("advertised.listeners", uri, config.ListenerSecurityProtocolMap);
                }
                catch (ConfigException e)
                {
                    throw new CommandException(e.Message);
                }
            })
            .ToList();
        foreach (var name in config.ControllerListenerNames)
        {
            if ((advertised.FirstOrDefault(e => e.ListenerName == name) ?? config.Listeners.FirstOrDefault(e => e.ListenerName == name)) is { } found)
            {
                return found;
            }
        }
        return null;
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
