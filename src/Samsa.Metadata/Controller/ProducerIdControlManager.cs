using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>
/// A range of producer ids given to one broker: <see cref="FirstProducerId"/> up to, not including,
/// <see cref="FirstProducerId"/> + <see cref="Size"/> (Kafka's <c>ProducerIdsBlock</c>).
/// </summary>
public readonly record struct ProducerIdsBlock(int BrokerId, long FirstProducerId, int Size)
{
    /// <summary>The first id after the block.</summary>
    public long End => FirstProducerId + Size;
}

/// <summary>The outcome of an AllocateProducerIds operation: a block, or the error that refused it.</summary>
public readonly record struct ProducerIdsAllocation(ProducerIdsBlock Block, ApiError Error);

/// <summary>
/// Hands out producer ids in blocks (Kafka's <c>ProducerIdControlManager</c>, KIP-730). The image keeps the first id
/// of the next block; allocating commits a <see cref="ProducerIdsRecord"/> that moves it on by
/// <see cref="BlockSize"/>, and the record is in the metadata log (and every later snapshot) before the broker
/// gets the block. A restart replays the record, so no id is ever handed out twice, whichever broker asks.
/// </summary>
public static class ProducerIdControlManager
{
    /// <summary>Kafka's <c>ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE</c>.</summary>
    public const int BlockSize = 1000;

    /// <summary>
    /// The next block for <paramref name="brokerId"/>. Kafka checks the broker epoch against the broker's registration
    /// (STALE_BROKER_EPOCH); a quorum of one registers its own node without an epoch, so only an unregistered
    /// broker id is refused, with the same error Kafka gives a broker it has no registration for.
    /// </summary>
    public static ControllerResult<ProducerIdsAllocation> GenerateNextBlock(MetadataImage image, int brokerId, long brokerEpoch)
    {
        if (!image.Brokers.ContainsKey(brokerId))
        {
            return Refuse(ErrorCode.StaleBrokerEpoch, $"No broker registration found for broker {brokerId}");
        }
        var first = image.NextProducerId;
        if (first > long.MaxValue - BlockSize)
        {
            return Refuse(ErrorCode.UnknownServerError, "Exhausted all producerIds as the next block's end producerId has exceeded the int64 type limit");
        }
        var record = new ProducerIdsRecord { BrokerId = brokerId, BrokerEpoch = brokerEpoch, NextProducerId = first + BlockSize };
        return new ControllerResult<ProducerIdsAllocation>([MetadataRecord.Of(record)],
            new ProducerIdsAllocation(new ProducerIdsBlock(brokerId, first, BlockSize), ApiError.None));
    }

    private static ControllerResult<ProducerIdsAllocation> Refuse(ErrorCode error, string message) =>
        new([], new ProducerIdsAllocation(default, new ApiError(error, message)));
}
