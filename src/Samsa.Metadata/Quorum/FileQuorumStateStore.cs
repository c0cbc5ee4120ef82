using System.Text.Json;
using Samsa.Protocol;
using Samsa.Protocol.RaftRecords;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// The <c>quorum-state</c> file in the metadata log directory, in Kafka's format (its <c>FileQuorumStateStore</c>):
/// one JSON object holding <see cref="QuorumStateData"/> fields in camelCase plus <c>"data_version"</c>.
/// <code>
/// version 0 (kraft.version 0, static voters):
///   {"clusterId":"","leaderId":1,"leaderEpoch":5,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},...],"data_version":0}
/// version 1 (kraft.version 1, KIP-853):
///   {"leaderId":1,"leaderEpoch":5,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}
/// </code>
/// A write goes to <c>quorum-state.tmp</c>, is fsynced, then renamed over the file, so a crash leaves either the
/// old state or the new one, never half of one. (.NET offers no portable fsync of the directory after the rename;
/// on ext4/xfs the rename is ordered after the fsynced data.)
/// </summary>
public sealed class FileQuorumStateStore : IQuorumStateStore
{
    public const string FileName = "quorum-state";
    private const string DataVersionKey = "data_version";

    private readonly string _path;
    private readonly IReadOnlyCollection<int>? _staticVoters;

    /// <param name="directory">The metadata log directory.</param>
    /// <param name="staticVoters">When set, files are written at version 0 with these voters (kraft.version 0); when null, at version 1.</param>
    public FileQuorumStateStore(string directory, IReadOnlyCollection<int>? staticVoters = null)
    {
        _path = Path.Combine(directory, FileName);
        _staticVoters = staticVoters;
    }

    public string FilePath => _path;

    public ElectionState? Read()
    {
        if (!File.Exists(_path))
        {
            return null;
        }
        var data = Parse(File.ReadAllBytes(_path));
        return new ElectionState(data.LeaderEpoch, data.LeaderId, data.VotedId);
    }

    public void Write(ElectionState state)
    {
        var data = new QuorumStateData { LeaderId = state.LeaderId, LeaderEpoch = state.Epoch, VotedId = state.VotedId };
        short version = 1;
        if (_staticVoters is not null)
        {
            version = 0;
            data.CurrentVoters = _staticVoters.Order().Select(id => new QuorumStateData.Voter { VoterId = id }).ToList();
        }
        var bytes = Format(data, version);
        var temporary = _path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, _path, overwrite: true);
    }

    /// <summary>The file's bytes for <paramref name="data"/> at <paramref name="version"/>, field order as Kafka's generated JSON converter.</summary>
    public static byte[] Format(QuorumStateData data, short version)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (version == 0)
            {
                json.WriteString("clusterId", data.ClusterId);
            }
            json.WriteNumber("leaderId", data.LeaderId);
            json.WriteNumber("leaderEpoch", data.LeaderEpoch);
            json.WriteNumber("votedId", data.VotedId);
            if (version >= 1)
            {
                json.WriteString("votedDirectoryId", data.VotedDirectoryId.ToString());
            }
            if (version == 0)
            {
                json.WriteNumber("appliedOffset", data.AppliedOffset);
                if (data.CurrentVoters is null)
                {
                    json.WriteNull("currentVoters");
                }
                else
                {
                    json.WriteStartArray("currentVoters");
                    foreach (var voter in data.CurrentVoters)
                    {
                        json.WriteStartObject();
                        json.WriteNumber("voterId", voter.VoterId);
                        json.WriteEndObject();
                    }
                    json.WriteEndArray();
                }
            }
            json.WriteNumber(DataVersionKey, version);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a <c>quorum-state</c> file of either version; unknown fields are ignored, as Kafka's converter does.</summary>
    public static QuorumStateData Parse(ReadOnlySpan<byte> bytes)
    {
        using var document = JsonDocument.Parse(bytes.ToArray());
        var root = document.RootElement;
        if (!root.TryGetProperty(DataVersionKey, out var versionElement))
        {
            throw new InvalidDataException($"quorum-state has no {DataVersionKey}");
        }
        var version = versionElement.GetInt16();
        if (version is < QuorumStateData.LowestVersion or > QuorumStateData.HighestVersion)
        {
            throw new InvalidDataException($"quorum-state has unsupported {DataVersionKey} {version}");
        }
        var data = new QuorumStateData
        {
            LeaderId = root.GetProperty("leaderId").GetInt32(),
            LeaderEpoch = root.GetProperty("leaderEpoch").GetInt32(),
            VotedId = root.GetProperty("votedId").GetInt32(),
        };
        if (version == 0)
        {
            data.ClusterId = root.TryGetProperty("clusterId", out var cluster) ? cluster.GetString() ?? "" : "";
            data.AppliedOffset = root.TryGetProperty("appliedOffset", out var applied) ? applied.GetInt64() : 0;
            if (root.TryGetProperty("currentVoters", out var voters) && voters.ValueKind == JsonValueKind.Array)
            {
                data.CurrentVoters = voters.EnumerateArray().Select(v => new QuorumStateData.Voter { VoterId = v.GetProperty("voterId").GetInt32() }).ToList();
            }
            else
            {
                data.CurrentVoters = null;
            }
        }
        else
        {
            data.CurrentVoters = null;
            if (root.TryGetProperty("votedDirectoryId", out var directory))
            {
                data.VotedDirectoryId = Uuid.Parse(directory.GetString() ?? "");
            }
        }
        return data;
    }
}
