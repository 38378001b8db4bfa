using System.Text;

namespace Flowstore.Commands;

/// <summary>
/// The one view of storage settings (Flowstore.Format.ps1xml selects it for every <see cref="StorageSettings"/>):
/// a list of Type and the type's settings, in declaration order, derived from the settings record.
/// </summary>
public static class StorageView
{
    /// <summary>The settings as Format-List would show them: "Name : value" lines, names padded to the longest.</summary>
    public static string Render(object? settings)
    {
        if (settings is not StorageSettings storage)
        {
            return settings?.ToString() ?? "";
        }
        var rows = new List<(string Name, string Value)> { (nameof(StorageSettings.Type), storage.Type) };
        rows.AddRange(StorageSettingInfo.Of(storage.GetType()).Select(s => (s.Name, s.Display(storage))));
        var width = rows.Max(r => r.Name.Length);
        var text = new StringBuilder();
        foreach (var (name, value) in rows)
        {
            text.Append(name.PadRight(width)).Append(" : ").AppendLine(value);
        }
        return text.ToString();
    }
}
