using System.Globalization;
using Microsoft.Extensions.Logging;
using Samsa.Protocol;

namespace Samsa.Broker.Config;

/// <summary>
/// The <c>meta.properties</c> file Kafka keeps in every log directory, version 1 (KRaft) as Kafka 3.7+ writes it:
/// <code>
/// #
/// #Thu Nov 23 11:31:00 UTC 2025
/// cluster.id=&lt;22-char base64 uuid&gt;
/// directory.id=&lt;22-char base64 uuid&gt;
/// node.id=1
/// version=1
/// </code>
/// (the empty comment line is <c>Properties.store(writer, "")</c>'s header, then its timestamp).
/// </summary>
public sealed record MetaProperties(string ClusterId, int NodeId, Uuid? DirectoryId)
{
    public const string FileName = "meta.properties";

    public const int Version = 1;

    public IEnumerable<KeyValuePair<string, string>> ToProperties()
    {
        yield return new("cluster.id", ClusterId);
        if (DirectoryId is { } directoryId)
        {
            yield return new("directory.id", directoryId.ToString());
        }
        yield return new("node.id", NodeId.ToString(CultureInfo.InvariantCulture));
        yield return new("version", Version.ToString(CultureInfo.InvariantCulture));
    }

    public string ToFileText(DateTimeOffset timestamp) => JavaProperties.Write(ToProperties(), "", timestamp);

    /// <summary>Reads <c>meta.properties</c> from a log dir; null when the file is absent (the dir is unformatted).</summary>
    public static MetaProperties? Read(string logDir)
    {
        var path = Path.Combine(logDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        var properties = JavaProperties.ReadFile(path).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        string Required(string key) => properties.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new ConfigException($"Failed to load {path}: property {key} is missing");

        var version = Required("version");
        if (version != "1")
        {
            throw new ConfigException($"Failed to load {path}: unsupported meta.properties version {version}; only KRaft version 1 is supported");
        }
        if (!int.TryParse(Required("node.id"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var nodeId) || nodeId < 0)
        {
            throw new ConfigException($"Failed to load {path}: node.id '{properties["node.id"]}' is not a non-negative integer");
        }
        Uuid? directoryId = null;
        if (properties.TryGetValue("directory.id", out var directoryText))
        {
            directoryId = Uuid.TryParse(directoryText, out var parsed)
                ? parsed
                : throw new ConfigException($"Failed to load {path}: directory.id '{directoryText}' is not a Kafka UUID");
        }
        return new MetaProperties(Required("cluster.id"), nodeId, directoryId);
    }

    /// <summary>Writes the file through a temporary file, flushed and renamed, so a crash never leaves half a file.</summary>
    public void Write(string logDir, DateTimeOffset timestamp)
    {
        Directory.CreateDirectory(logDir);
        var path = Path.Combine(logDir, FileName);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(ToFileText(timestamp));
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>
/// All log dirs' <c>meta.properties</c> together (Kafka's <c>MetaPropertiesEnsemble</c>). Unlike Kafka, which
/// requires <c>kafka-storage.sh format</c> first, the first start formats unformatted dirs itself with a new
/// random cluster id; later starts insist every dir agrees on the cluster id and on this node's id.
/// </summary>
public static class MetaPropertiesEnsemble
{
    /// <summary>Loads or formats every log dir and returns the cluster id.</summary>
    public static string LoadOrFormat(IReadOnlyList<string> logDirs, int nodeId, ILogger logger, TimeProvider? time = null)
    {
        var loaded = logDirs.Select(dir => (Dir: dir, Meta: MetaProperties.Read(dir))).ToArray();
        string? clusterId = null;
        string? clusterIdDir = null;
        foreach (var (dir, meta) in loaded)
        {
            if (meta is null)
            {
                continue;
            }
            if (meta.NodeId != nodeId)
            {
                throw new ConfigException(
                    $"Stored node id {meta.NodeId} in {Path.Combine(dir, MetaProperties.FileName)} doesn't match the configured node.id {nodeId}. " +
                    "If you moved your data, configure the node id that wrote it; to start a new node, empty the log directories.");
            }
            if (clusterId is not null && meta.ClusterId != clusterId)
            {
                throw new ConfigException(
                    $"Log directories disagree on the cluster id: {clusterIdDir} has {clusterId} but {dir} has {meta.ClusterId}");
            }
            clusterId = meta.ClusterId;
            clusterIdDir = dir;
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (clusterId is null)
        {
            clusterId = Uuid.Random().ToString();
            MetaLog.Formatting(logger, clusterId, nodeId);
        }
        var usedDirectoryIds = new HashSet<Uuid>(loaded.Where(l => l.Meta?.DirectoryId is not null).Select(l => l.Meta!.DirectoryId!.Value));
        foreach (var (dir, meta) in loaded)
        {
            if (meta is not null)
            {
                continue;
            }
            Uuid directoryId;
            do
            {
                directoryId = Uuid.Random();
            }
            while (!usedDirectoryIds.Add(directoryId));
            // Kafka refuses to start on a log dir without meta.properties. Samsa formats a missing one (zero-config
            // start), and says so when the dir already holds logs: they are kept and served under this cluster id.
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            {
                MetaLog.MissingFromNonEmptyDir(logger, dir, clusterId);
            }
            new MetaProperties(clusterId, nodeId, directoryId).Write(dir, now);
            MetaLog.FormattedDir(logger, dir, directoryId.ToString());
        }
        return clusterId;
    }
}

internal static partial class MetaLog
{
    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "No meta.properties found; formatting storage for new cluster {ClusterId} as node {NodeId}")]
    public static partial void Formatting(ILogger logger, string clusterId, int nodeId);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "Formatted log directory {Dir} with directory.id {DirectoryId}")]
    public static partial void FormattedDir(ILogger logger, string dir, string directoryId);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "meta.properties is missing from {Dir}, which holds data; writing a new one with cluster id {ClusterId} and keeping the data")]
    public static partial void MissingFromNonEmptyDir(ILogger logger, string dir, string clusterId);
}
