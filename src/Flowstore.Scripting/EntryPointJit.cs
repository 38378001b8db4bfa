using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Flowstore.Scripting;

/// <summary>
/// Makes the top-level statements of a flow script cheap to JIT. The runtime does not tier code in collectible
/// load contexts (dotnet/coreclr#16437): every method there is JIT-compiled fully optimized on its first call.
/// A script's top-level statements (its entry point) are one long method that runs exactly once per load, to
/// build the flows, and optimizing it costs several times what building takes (about 10 ms of JIT per script
/// of ~50 lines, 20-30 % of the compile time itself; see bench/README.md). So, when a script is loaded, its
/// entry point is marked <see cref="MethodImplAttributes.NoOptimization"/> (the JIT's quick mode, as tier 0
/// would be) in the image handed to the runtime. Task bodies (lambdas, local functions, other types) are
/// untouched and still fully optimized. The stored bytes (disk cache, frozen flows) are not changed.
/// </summary>
internal static class EntryPointJit
{
    /// <summary>
    /// A copy of <paramref name="image"/> whose entry point (and, for async top-level statements, the method
    /// holding their body) is marked NoOptimization; the image itself when there is nothing to mark or its
    /// layout is not the expected one.
    /// </summary>
    public static byte[] WithQuickJitEntryPoint(byte[] image)
    {
        try
        {
            using var pe = new PEReader(new MemoryStream(image, writable: false));
            var cor = pe.PEHeaders.CorHeader;
            if (cor is null || (cor.Flags & CorFlags.NativeEntryPoint) != 0 || !pe.HasMetadata)
            {
                return image;
            }
            var token = cor.EntryPointTokenOrRelativeVirtualAddress;
            if (token == 0 || (token >> 24) != 0x06)
            {
                return image;
            }
            var md = pe.GetMetadataReader();
            var entry = (MethodDefinitionHandle)MetadataTokens.EntityHandle(token);
            var program = md.GetMethodDefinition(entry).GetDeclaringType();

            var targets = new List<MethodDefinitionHandle> { entry };
            foreach (var handle in md.GetTypeDefinition(program).GetMethods())
            {
                // "<Main>$": the top-level statements when the entry point is the synthesized wrapper of an
                // async Main (then it only starts the state machine below).
                if (handle != entry && md.StringComparer.Equals(md.GetMethodDefinition(handle).Name, "<Main>$"))
                {
                    targets.Add(handle);
                }
            }
            foreach (var nested in md.GetTypeDefinition(program).GetNestedTypes())
            {
                // The state machine of async top-level statements holds their body in MoveNext.
                var type = md.GetTypeDefinition(nested);
                if (!md.GetString(type.Name).StartsWith("<<Main>$>d__", StringComparison.Ordinal))
                {
                    continue;
                }
                targets.AddRange(type.GetMethods().Where(m => md.StringComparer.Equals(md.GetMethodDefinition(m).Name, "MoveNext")));
            }

            // MethodDef rows: RVA (4 bytes), ImplFlags (2 bytes, little-endian), Flags, Name, Signature, ParamList.
            var table = pe.PEHeaders.MetadataStartOffset + md.GetTableMetadataOffset(TableIndex.MethodDef);
            var rowSize = md.GetTableRowSize(TableIndex.MethodDef);
            var patched = (byte[])image.Clone();
            foreach (var method in targets)
            {
                var offset = table + (MetadataTokens.GetRowNumber(method) - 1) * rowSize + 4;
                var flags = (ushort)(patched[offset] | (patched[offset + 1] << 8));
                if (flags != (ushort)md.GetMethodDefinition(method).ImplAttributes)
                {
                    return image;   // not the layout we expect: load the image as it is
                }
                flags |= (ushort)MethodImplAttributes.NoOptimization;
                patched[offset] = (byte)flags;
                patched[offset + 1] = (byte)(flags >> 8);
            }
            return patched;
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            return image;   // the runtime reports a damaged image better than we would
        }
    }
}
