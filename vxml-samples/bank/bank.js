// Helpers for bank.vxml: turn the <data> account record into plain values.

function firstElement(node, tag) {
  var list = node.getElementsByTagName(tag);
  return list.length > 0 ? list.item(0) : null;
}

function textOf(element) {
  var text = "";
  for (var i = 0; i < element.childNodes.length; i++) {
    var child = element.childNodes.item(i);
    if (child.nodeValue != null) {
      text += child.nodeValue;
    }
  }
  return text;
}

function accountSummary(doc) {
  var account = doc.documentElement;
  var recent = [];
  var items = account.getElementsByTagName("transaction");
  for (var i = 0; i < items.length; i++) {
    var t = items.item(i);
    recent.push({ date: t.getAttribute("date"), amount: t.getAttribute("amount"), what: textOf(t) });
  }
  return {
    holder: account.getAttribute("holder"),
    balance: textOf(firstElement(account, "balance")),
    recent: recent
  };
}
