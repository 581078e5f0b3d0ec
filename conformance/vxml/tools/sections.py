"""The assertions of the VXP VoiceXML suite, by specification section."""


def register(test, doc, check, expr_test):
    # ---- 1.5 / 2.1: documents, forms and the FIA --------------------------
    expr_test("1.5.1", "A document's first form is entered and its block executes.", "", "true")
    test("2.1.6.2", "The FIA visits form items in document order.",
         '<var name="seq" expr="\'\'"/><form><block name="a"><assign name="seq" expr="seq+\'a\'"/></block>'
         '<block name="b"><assign name="seq" expr="seq+\'b\'"/>' + check("seq == 'ab'") + '</block></form>')
    test("2.3.1", "A field collects spoken input matching its grammar into its form item variable.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/>'
         '<filled>' + check("f == 'Chicago'") + '</filled></field></form>')
    test("2.3.1", "A field collects DTMF input matching a builtin digits grammar.",
         '<form><field name="f" type="digits"><conf:dtmf value="123"/>'
         '<filled>' + check("f == '123'") + '</filled></field></form>')
    test("5.2.2", "An unanswered field throws noinput to its catch handler.",
         '<form><field name="f" type="digits"><conf:noinput/>'
         '<noinput>' + check("true") + '</noinput><filled><conf:fail reason="filled"/></filled></field></form>')
    test("5.2.2", "An unrecognised utterance throws nomatch.",
         '<form><field name="f"><conf:nomatch/><conf:grammar utterance="alpha"/>'
         '<nomatch>' + check("true") + '</nomatch><filled><conf:fail reason="filled"/></filled></field></form>')
    test("2.3.1.1", "A grammar tag value becomes the field's interpretation.",
         '<form><field name="f"><conf:speech value="delta"/><conf:grammar utterance="delta" interp="ldn"/>'
         '<filled>' + check("f == 'ldn'") + '</filled></field></form>')
    test("2.1.1", "goto to another document loads it (suite server maps .vxml to .txml).",
         '<form><block><goto next="2.vxml"/></block></form>',
         files={"2.txml": ('<form><block>' + check("true") + '</block></form>',)})

    def field_dtmf(spec, text, ftype, keys, cond, extra=""):
        test(spec, text, '<form><field name="f" type=%s><conf:dtmf value=%s/>%s<filled>%s</filled></field></form>'
             % (quoteattr(ftype), quoteattr(keys), extra, check(cond)))

    def grammar_field(spec, text, grammar, say, cond, fattrs=""):
        test(spec, text, '<form><field name="f"%s><conf:speech value=%s/>%s<filled>%s</filled></field></form>'
             % (fattrs, quoteattr(say), grammar, check(cond)))

    from xml.sax.saxutils import quoteattr

    # ---- 5.1 variables and scopes ---------------------------------------
    expr_test("5.1.1", "A var without expr is undefined.", '<var name="x"/>', "typeof x == 'undefined'")
    expr_test("5.1.1", "A var with expr holds the expression's value.", '<var name="x" expr="3*4"/>', "x == 12")
    expr_test("5.1.1", "assign changes a declared variable.", '<var name="x" expr="1"/><assign name="x" expr="x+1"/>', "x == 2")
    expr_test("5.1.1", "Re-declaring a var in the same scope re-initialises it.",
              '<var name="x" expr="5"/><var name="x"/>', "typeof x == 'undefined'")
    expr_test("5.1.2", "Document-level variables are reachable as document.x.",
              "", "document.x == 'd'", outside='<var name="x" expr="\'d\'"/>')
    test("5.1.2", "Dialog-level variables are reachable as dialog.x.",
         '<form><var name="x" expr="\'f\'"/><block>' + check("dialog.x == 'f'") + '</block></form>')
    test("5.1.2", "A dialog variable hides a document variable of the same name.",
         '<var name="x" expr="\'doc\'"/><form><var name="x" expr="\'dlg\'"/><block>'
         + check("x == 'dlg' && document.x == 'doc'") + '</block></form>')
    test("5.1.2", "Variables declared in a block live in an anonymous scope and vanish after it.",
         '<form><block name="b1"><var name="t" expr="1"/></block><block>' + check("typeof t == 'undefined'") + '</block></form>')
    expr_test("5.1.2", "The session scope object exists.", "", "typeof session == 'object'")
    expr_test("5.1.2", "The application scope object exists.", "", "typeof application == 'object'")
    expr_test("5.1.2", "The document scope object exists.", "", "typeof document == 'object'")
    expr_test("5.1.2", "Assigning through document.x changes the document variable.",
              '<assign name="document.x" expr="7"/>', "x == 7", outside='<var name="x" expr="1"/>')
    test("5.1.2", "Application-scope variables are declared in the application root document.",
         '<form><block>' + check("application.r == 'root'") + '</block></form>',
         files={"root.txml": ('<var name="r" expr="\'root\'"/>',)}, vattrs=' application="root.vxml"')
    test("5.1.2", "Root document variables are visible unqualified in a leaf document.",
         '<form><block>' + check("r == 'root'") + '</block></form>',
         files={"root.txml": ('<var name="r" expr="\'root\'"/>',)}, vattrs=' application="root.vxml"')
    test("5.1.2", "Application variables keep their values across leaf documents of the same application.",
         '<form><block><assign name="application.r" expr="\'changed\'"/><goto next="2.vxml"/></block></form>',
         files={"root.txml": ('<var name="r" expr="\'root\'"/>',),
                "2.txml": ('<form><block>' + check("application.r == 'changed'") + '</block></form>', ' application="root.vxml"')},
         vattrs=' application="root.vxml"')
    test("5.1.2", "Document variables are re-initialised when a new document loads.",
         '<var name="d" expr="1"/><form><block><assign name="d" expr="2"/><goto next="2.vxml"/></block></form>',
         files={"2.txml": ('<var name="d" expr="1"/><form><block>' + check("d == 1") + '</block></form>',)})
    test("5.1.3", "Assigning an undeclared variable throws error.semantic.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><assign name="undeclared_v" expr="1"/><conf:fail reason="no error"/></block></form>')
    test("5.1.3", "Referencing an undeclared variable throws error.semantic.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><var name="x" expr="nope_undeclared + 1"/><conf:fail reason="no error"/></block></form>')
    expr_test("5.1.4", "ECMAScript objects can be created and their properties assigned.",
              '<var name="o" expr="new Object()"/><assign name="o.k" expr="\'v\'"/>', "o.k == 'v'")
    expr_test("5.1.4", "ECMAScript arrays are usable in expressions.",
              '<var name="a" expr="[1,2,3]"/>', "a.length == 3 && a[2] == 3")
    expr_test("5.1.4", "String operations follow ECMAScript.", '<var name="s" expr="\'abc\'.toUpperCase()"/>', "s == 'ABC'")
    expr_test("5.1.4", "Math functions are available.", '<var name="m" expr="Math.max(2, 9, 4)"/>', "m == 9")
    test("5.3.12", "Functions declared in a document-level script are callable from expressions.",
         '<script>function twice(n) { return 2 * n; }</script><form><block>' + check("twice(21) == 42") + '</block></form>')
    expr_test("5.3.12", "Variables declared in a block script live in the block's scope.",
              '<script>var local_s = 5;</script>', "local_s == 5")
    test("5.3.12", "A document-level script runs before the first form executes.",
         '<script>var early = "yes";</script><form><block>' + check("early == 'yes'") + '</block></form>')
    test("5.3.12", "An external script loads from src.",
         '<script src="lib.js"/><form><block>' + check("libValue() == 'lib'") + '</block></form>',
         files={"lib.js": "function libValue() { return 'lib'; }\n"})
    test("5.3.12", "A script whose src cannot be fetched throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><script src="missing.js"/><conf:fail reason="no error"/></block></form>')
    test("5.1.4", "A runtime error in a script throws error.semantic.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><script>null.boom();</script><conf:fail reason="no error"/></block></form>')

    # ---- 5.2 events ------------------------------------------------------
    def ev(spec, text, handlers, thrower, where="form"):
        test(spec, text, '<form>%s<block>%s<conf:fail reason="no event handled"/></block></form>' % (handlers, thrower))

    ev("5.2.1", "throw raises the named event and a matching catch handles it.",
       '<catch event="my.ev"><conf:pass/></catch>', '<throw event="my.ev"/>')
    ev("5.2.1", "throw eventexpr names the event by an expression.",
       '<catch event="my.ev"><conf:pass/></catch>', '<throw eventexpr="\'my\' + \'.ev\'"/>')
    ev("5.2.1", "The throw message is available as _message.",
       '<catch event="my.ev">' + check("_message == 'hello'") + '</catch>', '<throw event="my.ev" message="hello"/>')
    ev("5.2.1", "messageexpr gives _message from an expression.",
       '<catch event="my.ev">' + check("_message == 'ab'") + '</catch>', '<throw event="my.ev" messageexpr="\'a\' + \'b\'"/>')
    ev("5.2.2", "The event name is available as _event in the handler.",
       '<catch event="my.ev">' + check("_event == 'my.ev'") + '</catch>', '<throw event="my.ev"/>')
    ev("5.2.4", "A catch for a prefix of the event name handles it (token-wise prefix).",
       '<catch event="my"><conf:pass/></catch>', '<throw event="my.ev.sub"/>')
    ev("5.2.4", "Prefix matching is by whole tokens: 'my.e' does not catch 'my.ev'.",
       '<catch event="my.e"><conf:fail reason="partial token matched"/></catch><catch event="my.ev"><conf:pass/></catch>', '<throw event="my.ev"/>')
    ev("5.2.4", "A catch without an event attribute catches every event.",
       '<catch><conf:pass/></catch>', '<throw event="anything.at.all"/>')
    ev("5.2.4", "The event attribute lists several events separated by spaces.",
       '<catch event="one two"><conf:pass/></catch>', '<throw event="two"/>')
    ev("5.2.4", "Among catches of the same scope the first in document order is chosen.",
       '<catch event="e"><conf:pass/></catch><catch event="e"><conf:fail reason="second chosen"/></catch>', '<throw event="e"/>')
    ev("5.2.4", "A catch whose cond is false is not selected.",
       '<catch event="e" cond="false"><conf:fail reason="cond ignored"/></catch><catch event="e"><conf:pass/></catch>', '<throw event="e"/>')
    ev("5.2.4", "Among qualifying catches of one scope the first in document order wins, even when a later one names a longer prefix.",
       '<catch event="a"><conf:pass/></catch><catch event="a.b"><conf:fail reason="longer prefix preferred over document order"/></catch>', '<throw event="a.b"/>')
    test("5.2.4", "A catch in the field scope takes precedence over the form scope.",
         '<form><catch event="noinput"><conf:fail reason="form catch chosen"/></catch><field name="f" type="digits"><conf:noinput/>'
         '<catch event="noinput"><conf:pass/></catch></field></form>')
    test("5.2.4", "A catch in the form scope takes precedence over the document scope.",
         '<catch event="e"><conf:fail reason="document catch chosen"/></catch><form><catch event="e"><conf:pass/></catch><block><throw event="e"/></block></form>')
    test("5.2.4", "An event not caught in the dialog is caught at document scope.",
         '<catch event="e"><conf:pass/></catch><form><block><throw event="e"/></block></form>')
    test("5.2.4", "An event not caught in the leaf document is caught in the application root.",
         '<form><block><throw event="e"/></block></form>',
         files={"root.txml": ('<catch event="e"><conf:pass/></catch>',)}, vattrs=' application="root.vxml"')
    test("5.2.4", "The count attribute selects the handler by how often the event occurred.",
         '<form><var name="n" expr="0"/><catch event="e" count="1"><assign name="n" expr="n+1"/><throw event="e"/></catch>'
         '<catch event="e" count="2">' + check("n == 1") + '</catch><block><throw event="e"/></block></form>')
    for short, evname in [("noinput", "noinput"), ("nomatch", "nomatch"), ("error", "error"), ("help", "help")]:
        ev("5.2.3", "<%s> is shorthand for a catch of '%s'." % (short, evname),
           '<%s><conf:pass/></%s>' % (short, short), '<throw event="%s"/>' % evname)
    ev("5.2.3", "<error> handles error.* events by prefix.",
       '<error><conf:pass/></error>', '<throw event="error.custom.thing"/>')
    ev("5.2.3", "<nomatch count=\"2\"> is selected on the second nomatch only.",
       '<var name="n" expr="0"/><nomatch count="1"><assign name="n" expr="1"/><throw event="nomatch"/></nomatch><nomatch count="2">' + check("n == 1") + '</nomatch>',
       '<throw event="nomatch"/>')
    test("5.2.2", "noinput re-counts: a second noinput selects the count=2 handler and the field is re-visited.",
         '<form><field name="f" type="digits"><conf:noinput/><noinput count="1"><conf:noinput/></noinput>'
         '<noinput count="2"><conf:pass/></noinput><filled><conf:fail reason="filled"/></filled></field></form>')
    test("5.2.2", "After a handler without transfer of control the FIA re-visits the field.",
         '<form><field name="f" type="digits"><conf:noinput/><noinput><conf:dtmf value="4"/></noinput>'
         '<filled>' + check("f == '4'") + '</filled></field></form>')
    test("5.2.5", "Events thrown inside a handler are handled by another handler.",
         '<form><catch event="a"><throw event="b"/></catch><catch event="b"><conf:pass/></catch><block><throw event="a"/></block></form>')
    test("5.2.6", "error.badfetch is thrown when a goto target cannot be fetched.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><goto next="missing-document.vxml"/></block></form>')
    test("5.2.6", "error.badfetch.http.404 names the HTTP status of a failed fetch.",
         '<form><catch event="error.badfetch.http.404"><conf:pass/></catch><catch event="error.badfetch"><conf:fail reason="no http.404 suffix"/></catch><block><goto next="missing-document.vxml"/></block></form>')
    test("5.2.6", "A goto to a non-existent dialog in the document throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><goto next="#nosuchform"/></block></form>')
    test("5.2.6", "An unknown event thrown at the top of a form is handled by an application catch-all.",
         '<catch><conf:pass/></catch><form><block><throw event="x.y.z"/></block></form>')
    test("5.2.6", "error.semantic is thrown for a syntax error in cond.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><if cond="1 +* 2"><conf:fail reason="no error"/></if></block></form>')
    test("5.2.2", "_message of a semantic error is a string.",
         '<form><catch event="error.semantic">' + check("typeof _message == 'string'") + '</catch><block><var name="x" expr="nope_undeclared"/></block></form>')

    # ---- 5.3 executable content -----------------------------------------
    for n, (v, want) in enumerate([("1", "a"), ("2", "b"), ("3", "c")]):
        expr_test("5.3.4", "if/elseif/else selects branch %s when x is %s." % (want, v),
                  '<var name="x" expr="%s"/><var name="r"/><if cond="x == 1"><assign name="r" expr="\'a\'"/>'
                  '<elseif cond="x == 2"/><assign name="r" expr="\'b\'"/><else/><assign name="r" expr="\'c\'"/></if>' % v,
                  "r == '%s'" % want)
    expr_test("5.3.4", "An if without a true condition and no else executes nothing.",
              '<var name="r" expr="0"/><if cond="false"><assign name="r" expr="1"/></if>', "r == 0")
    expr_test("5.3.4", "Only the first true elseif branch runs.",
              '<var name="r" expr="\'\'"/><if cond="false"><assign name="r" expr="r+\'a\'"/><elseif cond="true"/><assign name="r" expr="r+\'b\'"/>'
              '<elseif cond="true"/><assign name="r" expr="r+\'c\'"/></if>', "r == 'b'")
    test("5.3.3", "clear with a namelist resets the named form item variable to undefined.",
         '<form><var name="v" expr="1"/><block name="b">' '<clear namelist="v"/>' + check("typeof v == 'undefined'") + '</block></form>')
    test("5.3.3", "clear without namelist resets every form item variable of the form.",
         '<form><block name="b1"/><block name="b2"><clear/>' + check("typeof b1 == 'undefined' && typeof b2 == 'undefined'") + '</block></form>')
    test("5.3.3", "Clearing a block's form item variable makes the FIA visit it again.",
         '<form><var name="n" expr="0"/><block name="b"><assign name="n" expr="n+1"/><if cond="n &lt; 2"><clear namelist="b"/></if></block>'
         '<block>' + check("n == 2") + '</block></form>')
    test("5.3.7", "goto nextitem jumps to the named form item.",
         '<form><block><goto nextitem="target"/></block><block name="skipped"><conf:fail reason="not skipped"/></block>'
         '<block name="target"><conf:pass/></block></form>')
    test("5.3.7", "goto expritem selects the form item by expression.",
         '<form><block><goto expritem="\'tar\' + \'get\'"/></block><block name="skipped"><conf:fail reason="not skipped"/></block>'
         '<block name="target"><conf:pass/></block></form>')
    test("5.3.7", "goto next='#id' transitions to another dialog in the same document.",
         '<form><block><goto next="#second"/></block></form><form id="second"><block><conf:pass/></block></form>')
    test("5.3.7", "goto expr computes the target URI.",
         '<form><block><goto expr="\'#\' + \'second\'"/></block></form><form id="second"><block><conf:pass/></block></form>')
    test("5.3.7", "goto to another document's dialog by fragment.",
         '<form><block><goto next="2.vxml#there"/></block></form>',
         files={"2.txml": ('<form id="first"><block><conf:fail reason="first dialog entered"/></block></form><form id="there"><block><conf:pass/></block></form>',)})
    test("5.3.7", "A transition to a dialog clears that dialog's variables (re-entry re-initialises).",
         '<var name="visits" expr="0"/><form id="f"><var name="local" expr="0"/><block><assign name="visits" expr="visits+1"/>'
         '<if cond="visits == 2">' + check("local == 0") + '</if><assign name="local" expr="9"/><goto next="#f"/></block></form>')
    test("5.3.8", "submit fetches the next document with the namelist values.",
         '<form><var name="x" expr="1"/><block><submit next="2.vxml" namelist="x"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("5.3.8", "submit with method='post' fetches the next document.",
         '<form><var name="x" expr="1"/><block><submit next="2.vxml" method="post" namelist="x"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("5.3.8", "submit expr computes the target URI.",
         '<form><block><submit expr="\'2\' + \'.vxml\'"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("5.3.9", "exit ends the session (nothing after it runs).",
         '<form><block><prompt>pass</prompt><exit/><conf:fail reason="ran past exit"/></block></form>')
    test("5.3.9", "exit with expr ends the session.",
         '<form><block><prompt>pass</prompt><exit expr="\'done\'"/><conf:fail reason="ran past exit"/></block></form>')
    test("5.3.13", "log does not change the dialog flow.",
         '<form><block><log>logged <value expr="1+1"/></log><conf:pass/></block></form>')
    test("5.3.13", "log with a label and expr is accepted.",
         '<form><block><log label="t" expr="\'x\'"/><conf:pass/></block></form>')
    test("5.3.6", "reprompt causes the field's prompts to play again on re-visit.",
         '<form><field name="f" type="digits"><prompt count="1"><conf:noinput/></prompt><prompt count="2"><conf:dtmf value="7"/></prompt>'
         '<noinput><reprompt/></noinput><filled>' + check("f == '7'") + '</filled></field></form>')
    test("5.3.6", "Without reprompt, a catch that ends does not replay prompts before the next collection.",
         '<form><var name="n" expr="0"/><field name="f" type="digits"><conf:noinput/><noinput><assign name="n" expr="n+1"/><if cond="n == 2"><conf:pass/></if></noinput>'
         '<filled><conf:fail reason="filled"/></filled></field></form>')
    test("5.3.10", "return from a subdialog hands the namelist values to the caller.",
         '<form><subdialog name="s" src="sub.vxml"><filled>' + check("s.r == 'sub'") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="r" expr="\'sub\'"/><block><return namelist="r"/></block></form>',)})
    test("5.3.10", "return event throws the event in the calling dialog.",
         '<form><catch event="sub.ev"><conf:pass/></catch><subdialog name="s" src="sub.vxml"><filled><conf:fail reason="filled"/></filled></subdialog></form>',
         files={"sub.txml": ('<form><block><return event="sub.ev"/></block></form>',)})
    test("5.3.2", "assign to a form item variable fills it and the FIA skips the item.",
         '<form><block><assign name="f" expr="\'x\'"/></block><field name="f" type="digits"><filled><conf:fail reason="field visited"/></filled></field><block>' + check("f == 'x'") + '</block></form>')
    test("5.3.1", "var inside filled lives in the filled's anonymous scope.",
         '<form><field name="f" type="digits"><conf:dtmf value="1"/><filled><var name="tmp" expr="f"/><assign name="tmp" expr="tmp+\'2\'"/>' + check("tmp == '12'") + '</filled></field></form>')

    # ---- 2.1 forms / FIA (appendix C) -----------------------------------
    test("2.1.2.1", "A block's form item variable is undefined before the block runs.",
         '<form><block name="first">' + check("typeof second == 'undefined'") + '</block><block name="second"/></form>')
    test("2.1.2.1", "A block's form item variable is defined after it runs.",
         '<form><block name="first"/><block>' + check("first == true") + '</block></form>')
    test("2.1.2.1", "A form item with expr already defined is not visited.",
         '<form><block name="b" expr="true"><conf:fail reason="visited"/></block><block><conf:pass/></block></form>')
    test("2.1.2.1", "A field with expr already defined is not visited and keeps that value.",
         '<form><field name="f" type="digits" expr="\'42\'"><filled><conf:fail reason="visited"/></filled></field><block>' + check("f == '42'") + '</block></form>')
    test("2.1.2.2", "A form item whose cond is false is not visited.",
         '<form><block cond="false"><conf:fail reason="visited"/></block><block><conf:pass/></block></form>')
    test("2.1.2.2", "cond is re-evaluated on each FIA iteration.",
         '<form><var name="ok" expr="false"/><block name="a" cond="ok"><conf:pass/></block><block name="b"><assign name="ok" expr="true"/></block>'
         '<block name="c" cond="false"/></form>')
    test("C", "When no form item is selectable the form ends and the document exits.",
         '<form><block><prompt>pass</prompt></block></form>')
    test("C", "The FIA selects the first item in document order whose guard allows it.",
         '<form><block name="a" expr="1"/><block name="b" cond="false"/><block name="c"><conf:pass/></block></form>')
    test("C", "A goto to another form from the middle of a form leaves the first form.",
         '<form><block><goto next="#g"/></block><block><conf:fail reason="continued"/></block></form><form id="g"><block><conf:pass/></block></form>')
    test("C", "After filled, the FIA continues with the next unfilled item.",
         '<form><field name="f" type="digits"><conf:dtmf value="1"/></field><field name="g" type="digits"><conf:dtmf value="2"/></field>'
         '<block>' + check("f == '1' && g == '2'") + '</block></form>')
    test("C", "A filled handler can clear its own field to collect again.",
         '<form><var name="n" expr="0"/><field name="f" type="digits"><conf:dtmf value="3"/><filled><assign name="n" expr="n+1"/><if cond="n &lt; 2"><clear namelist="f"/></if></filled></field>'
         '<block>' + check("n == 2") + '</block></form>')
    test("2.1.4", "A form-level filled with mode='all' runs when all named items are filled.",
         '<form><field name="a" type="digits"><conf:dtmf value="1"/></field><field name="b" type="digits"><conf:dtmf value="2"/></field>'
         '<filled mode="all">' + check("a == '1' && b == '2'") + '</filled></form>')
    test("2.1.4", "A form-level filled with mode='any' runs as soon as one named item is filled.",
         '<form><field name="a" type="digits"><conf:dtmf value="1"/></field><field name="b" type="digits"><conf:dtmf value="2"/></field>'
         '<filled mode="any" namelist="a b">' + check("a == '1' && typeof b == 'undefined'") + '</filled></form>')
    test("2.1.4", "A form-level filled with a namelist ignores items outside it.",
         '<form><field name="a" type="digits"><conf:dtmf value="1"/></field><field name="b" type="digits"><conf:dtmf value="2"/></field>'
         '<filled namelist="b">' + check("a == '1' && b == '2'") + '</filled></form>')
    test("2.1.5", "Form-level grammars fill several fields from one utterance (mixed initiative).",
         '<form><grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">New York<tag>out.city=\'ny\'; out.state=\'NY\';</tag></rule></grammar>'
         '<initial name="i"><conf:speech value="charlie"/></initial><field name="city"/><field name="state"/>'
         '<filled mode="all">' + check("city == 'ny' && state == 'NY'") + '</filled></form>')
    test("2.1.5", "An initial element's form item variable is set once a form-level grammar fills fields.",
         '<form><grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">London<tag>out.city=\'ldn\';</tag></rule></grammar>'
         '<initial name="i"><conf:speech value="delta"/></initial><field name="city"/>'
         '<block>' + check("i == true && city == 'ldn'") + '</block></form>')

    # ---- 2.2 menus --------------------------------------------------------
    test("2.2.1", "A menu choice selected by DTMF transitions to its next.",
         '<menu><prompt><conf:dtmf value="2"/></prompt><choice dtmf="1" next="#wrong"/><choice dtmf="2" next="#right"/></menu>'
         '<form id="wrong"><block><conf:fail reason="wrong choice"/></block></form><form id="right"><block><conf:pass/></block></form>')
    test("2.2.1", "A menu choice selected by voice transitions to its next.",
         '<menu><prompt><conf:speech value="echo"/></prompt><choice next="#wrong"><conf:phrase utterance="alpha"/></choice><choice next="#right"><conf:phrase utterance="echo"/></choice></menu>'
         '<form id="wrong"><block><conf:fail reason="wrong choice"/></block></form><form id="right"><block><conf:pass/></block></form>')
    test("2.2.1", "dtmf='true' on a menu assigns digits 1..9 to the first choices.",
         '<menu dtmf="true"><prompt><conf:dtmf value="2"/></prompt><choice next="#wrong"><conf:phrase utterance="alpha"/></choice><choice next="#right"><conf:phrase utterance="bravo"/></choice></menu>'
         '<form id="wrong"><block><conf:fail reason="wrong choice"/></block></form><form id="right"><block><conf:pass/></block></form>')
    test("2.2.2", "A choice with event throws it when selected.",
         '<catch event="picked"><conf:pass/></catch><menu><prompt><conf:dtmf value="1"/></prompt><choice dtmf="1" event="picked"/></menu>')
    test("2.2.2", "A choice with expr computes its target.",
         '<menu><prompt><conf:dtmf value="1"/></prompt><choice dtmf="1" expr="\'#\' + \'right\'"/></menu><form id="right"><block><conf:pass/></block></form>')
    test("2.2.1", "A menu without matching input throws nomatch.",
         '<menu><prompt><conf:nomatch/></prompt><choice next="#wrong"><conf:phrase utterance="alpha"/></choice><nomatch><conf:pass/></nomatch></menu>'
         '<form id="wrong"><block><conf:fail reason="chosen"/></block></form>')
    test("2.2.1", "A menu throws noinput when the caller is silent.",
         '<menu><prompt><conf:noinput/></prompt><choice dtmf="1" next="#wrong"/><noinput><conf:pass/></noinput></menu>'
         '<form id="wrong"><block><conf:fail reason="chosen"/></block></form>')
    test("2.2.4", "enumerate inside a menu prompt lists the choices (playing does not fail).",
         '<menu><prompt><enumerate/> <conf:dtmf value="1"/></prompt><choice dtmf="1" next="#right">one</choice></menu><form id="right"><block><conf:pass/></block></form>')
    test("2.2.4", "enumerate with content evaluates _prompt and _dtmf for each choice.",
         '<menu><prompt><enumerate><value expr="_dtmf"/> <value expr="_prompt"/></enumerate> <conf:dtmf value="1"/></prompt><choice dtmf="1" next="#right">one</choice></menu><form id="right"><block><conf:pass/></block></form>')

    # ---- 2.3 form items ---------------------------------------------------
    field_dtmf("2.3.1", "A field of type boolean maps DTMF 1 to true.", "boolean", "1", "f === true")
    field_dtmf("2.3.1", "A field of type boolean maps DTMF 2 to false.", "boolean", "2", "f === false")
    field_dtmf("2.3.1", "The shadow variable name$.utterance holds the raw DTMF string.", "digits", "55", "f$.utterance == '55'")
    field_dtmf("2.3.1", "The shadow variable name$.inputmode is 'dtmf' for key presses.", "digits", "5", "f$.inputmode == 'dtmf'")
    field_dtmf("2.3.1", "The shadow variable name$.confidence is between 0 and 1.", "digits", "5", "f$.confidence >= 0 && f$.confidence <= 1")
    field_dtmf("2.3.1", "The shadow variable name$.interpretation holds the value.", "digits", "58", "f$.interpretation == '58'")
    grammar_field("2.3.1", "For speech, name$.inputmode is 'voice'.", '<conf:grammar utterance="golf"/>', "golf", "f$.inputmode == 'voice'")
    grammar_field("2.3.1", "For speech, name$.utterance holds the words recognised.", '<conf:grammar utterance="golf"/>', "golf", "f$.utterance == 'Hackensack'")
    grammar_field("2.3.1", "A slot attribute picks the interpretation property.",
                  '<grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">Tokyo<tag>out.city=\'tyo\'; out.other=\'x\';</tag></rule></grammar>',
                  "echo", "f == 'tyo'", fattrs=' slot="city"')
    grammar_field("2.3.1", "With an object interpretation and no matching slot the field holds the whole object.",
                  '<conf:grammar utterance="hotel"><conf:key name="a" value="1"/><conf:key name="b" value="2"/></conf:grammar>',
                  "hotel", "f.a == '1' && f.b == '2'")
    grammar_field("2.3.1", "A field named like a property of the interpretation takes that property.",
                  '<grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">Tokyo<tag>out.f=\'inner\';</tag></rule></grammar>',
                  "echo", "f == 'inner'")
    test("2.3.1", "modal='true' disables higher-scope grammars while the field listens.",
         '<link next="#wrong"><grammar version="1.0" root="r"><rule id="r">Chicago</rule></grammar></link>'
         '<form><field name="f" modal="true"><conf:speech value="alpha"/><grammar version="1.0" root="r"><rule id="r">Chicago<tag>out=\'field\';</tag></rule></grammar>'
         '<filled>' + check("f == 'field'") + '</filled></field></form><form id="wrong"><block><conf:fail reason="link taken"/></block></form>')
    test("2.3.2", "A block is executed once and its variable is then true.",
         '<form><var name="n" expr="0"/><block name="b"><assign name="n" expr="n+1"/></block><block>' + check("n == 1 && b == true") + '</block></form>')
    test("2.3.4", "A subdialog runs in a new context and returns to the caller.",
         '<form><subdialog name="s" src="sub.vxml"/><block>' + check("typeof s == 'object'") + '</block></form>',
         files={"sub.txml": ('<form><block><return/></block></form>',)})
    test("2.3.4", "param values are available as the subdialog's form variables.",
         '<form><subdialog name="s" src="sub.vxml"><param name="p" expr="\'given\'"/><filled>' + check("s.r == 'given'") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="p"/><var name="r"/><block><assign name="r" expr="p"/><return namelist="r"/></block></form>',)})
    test("2.3.4", "A param overrides the subdialog variable's own expr.",
         '<form><subdialog name="s" src="sub.vxml"><param name="p" value="from-caller"/><filled>' + check("s.p == 'from-caller'") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="p" expr="\'own\'"/><block><return namelist="p"/></block></form>',)})
    test("2.3.4", "A subdialog does not see the caller's document variables.",
         '<var name="secret" expr="1"/><form><subdialog name="s" src="sub.vxml"><filled>' + check("s.seen == 'no'") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="seen"/><block><assign name="seen" expr="typeof secret == \'undefined\' ? \'no\' : \'yes\'"/><return namelist="seen"/></block></form>',)})
    test("2.3.4", "A subdialog to a dialog of the same document.",
         '<form><subdialog name="s" src="#sub"><filled>' + check("s.v == 3") + '</filled></subdialog></form>'
         '<form id="sub"><var name="v" expr="3"/><block><return namelist="v"/></block></form>')
    test("2.3.4", "A subdialog whose document cannot be fetched throws error.badfetch in the caller.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><subdialog name="s" src="missing-sub.vxml"/></form>')
    test("2.3.4", "srcexpr computes the subdialog's URI.",
         '<form><subdialog name="s" srcexpr="\'sub\' + \'.vxml\'"><filled>' + check("s.r == 1") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="r" expr="1"/><block><return namelist="r"/></block></form>',)})
    test("2.3.5", "An object of an unsupported type throws error.unsupported.objectname.",
         '<form><catch event="error.unsupported"><conf:pass/></catch><object name="o" classid="builtin:no-such-object"/></form>')
    test("2.3.6", "record stores the recording in its form item variable.",
         '<form><record name="r" maxtime="10s"><prompt><conf:recording/></prompt><filled>' + check("typeof r != 'undefined'") + '</filled></record></form>')
    test("2.3.6", "name$.duration of a recording is positive.",
         '<form><record name="r"><prompt><conf:recording/></prompt><filled>' + check("r$.duration > 0") + '</filled></record></form>')
    test("2.3.6", "name$.size of a recording is positive.",
         '<form><record name="r"><prompt><conf:recording/></prompt><filled>' + check("r$.size > 0") + '</filled></record></form>')
    test("2.3.6", "A caller hanging up during a record throws connection.disconnect.hangup.",
         '<form><catch event="connection.disconnect.hangup"><conf:pass/></catch><record name="r"><prompt><conf:hangup/></prompt></record></form>')
    test("2.3.7", "A bridged transfer that the far end ends sets the result far_end_disconnect.",
         '<form><transfer name="t" dest="tel:+15551234" bridge="true"><filled>' + check("t == 'far_end_disconnect'") + '</filled></transfer></form>')
    test("2.3.7", "A blind transfer ends the dialog with connection.disconnect.transfer.",
         '<form><catch event="connection.disconnect.transfer"><conf:pass/></catch><transfer name="t" dest="tel:+15551234" bridge="false"/><block><conf:fail reason="continued after blind transfer"/></block></form>')
    test("2.3.7", "destexpr computes the transfer destination.",
         '<form><transfer name="t" destexpr="\'tel:+1555\' + \'1234\'" bridge="true"><filled>' + check("t == 'far_end_disconnect'") + '</filled></transfer></form>')
    test("2.3.7", "name$.duration of a bridged transfer is a number.",
         '<form><transfer name="t" dest="tel:+15551234" bridge="true"><filled>' + check("typeof t$.duration == 'number'") + '</filled></transfer></form>')
    test("2.4", "A field's filled runs once the field is filled.",
         '<form><field name="f" type="digits"><conf:dtmf value="9"/><filled>' + check("f == '9'") + '</filled></field></form>')

    # ---- 2.5 links ----------------------------------------------------------
    test("2.5", "A document-level link's grammar is active in a field and its next is followed.",
         '<link next="#target"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">9</rule></grammar></link>'
         '<form><field name="f" type="boolean"><conf:dtmf value="9"/><filled><conf:fail reason="field filled"/></filled></field></form>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.5", "A link with event throws the event when matched.",
         '<link event="linked"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">9</rule></grammar></link>'
         '<form><catch event="linked"><conf:pass/></catch><field name="f" type="boolean"><conf:dtmf value="9"/><filled><conf:fail reason="field filled"/></filled></field></form>')
    test("2.5", "A form-level link is active in the form's fields.",
         '<form><link next="#target"><grammar version="1.0" root="r"><rule id="r">Tokyo</rule></grammar></link>'
         '<field name="f"><conf:speech value="echo"/><conf:grammar utterance="alpha"/><filled><conf:fail reason="field filled"/></filled></field></form>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.5", "A link's expr computes its target.",
         '<link expr="\'#\' + \'target\'"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">8</rule></grammar></link>'
         '<form><field name="f" type="boolean"><conf:dtmf value="8"/></field></form><form id="target"><block><conf:pass/></block></form>')
    test("2.5", "A link match sets application.lastresult$.",
         '<link next="#target"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">9</rule></grammar></link>'
         '<form><field name="f" type="boolean"><conf:dtmf value="9"/></field></form>'
         '<form id="target"><block>' + check("application.lastresult$.utterance == '9'") + '</block></form>')

    # ---- 3 grammars -------------------------------------------------------
    SRGS = '<grammar version="1.0" root="r"%s><rule id="r">%s</rule></grammar>'

    def g(body, attrs=""):
        return SRGS % (attrs, body)

    grammar_field("3.1.1", "An inline SRGS grammar with one-of matches any alternative.",
                  g('<one-of><item>Chicago</item><item>London</item></one-of>'), "delta", "f == 'London'")
    grammar_field("3.1.1", "A rule reference to a local rule is followed.",
                  '<grammar version="1.0" root="r"><rule id="r"><ruleref uri="#city"/></rule><rule id="city"><item>Tokyo</item></rule></grammar>',
                  "echo", "f == 'Tokyo'")
    grammar_field("3.1.1", "Optional items (repeat='0-1') may be absent.",
                  g('<item repeat="0-1">please</item> San Francisco'), "bravo", "f$.utterance == 'San Francisco'")
    grammar_field("3.1.1", "Tags assign out in semantics/1.0 and the value becomes the field value.",
                  g('Chicago<tag>out = \'chi\';</tag>', ' tag-format="semantics/1.0"'), "alpha", "f == 'chi'")
    grammar_field("3.1.1", "semantics/1.0-literals tags give the literal as the value.",
                  g('Chicago<tag>chi-literal</tag>', ' tag-format="semantics/1.0-literals"'), "alpha", "f == 'chi-literal'")
    grammar_field("3.1.1", "rules.X gives a referenced rule's value in semantics/1.0.",
                  '<grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r"><ruleref uri="#c"/><tag>out = rules.c + \'!\';</tag></rule><rule id="c">Tokyo<tag>out=\'t\';</tag></rule></grammar>',
                  "echo", "f == 't!'")
    grammar_field("3.1.1", "Without tags the field value is the matched text.",
                  g('Standardsville'), "hotel", "f == 'Standardsville'")
    grammar_field("3.1.1", "Multi-word items match the whole phrase.",
                  g('Truth or Consequences'), "foxtrot", "f == 'Truth or Consequences'")
    test("3.1.1", "An external SRGS grammar is fetched from src.",
         '<form><field name="f"><conf:speech value="bravo"/><grammar src="city.grxml" type="application/srgs+xml"/><filled>' + check("f == 'sf'") + '</filled></field></form>',
         files={"city.grxml": '<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" xml:lang="en-US" version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">San Francisco<tag>out=\'sf\';</tag></rule></grammar>\n'})
    test("3.1.1", "A fragment in src selects a public rule of an external grammar.",
         '<form><field name="f"><conf:speech value="echo"/><grammar src="city.grxml#tokyo" type="application/srgs+xml"/><filled>' + check("f == 'tyo'") + '</filled></field></form>',
         files={"city.grxml": '<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" xml:lang="en-US" version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">London</rule><rule id="tokyo" scope="public">Tokyo<tag>out=\'tyo\';</tag></rule></grammar>\n'})
    test("3.1.1", "A grammar whose src cannot be fetched throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><field name="f"><conf:speech value="alpha"/><grammar src="missing.grxml" type="application/srgs+xml"/></field></form>')
    test("3.1.1", "A DTMF grammar matches key sequences.",
         '<form><field name="f"><conf:dtmf value="12"/><grammar mode="dtmf" version="1.0" root="r"><rule id="r">1 2<tag>out=\'twelve\';</tag></rule></grammar><filled>' + check("f == 'twelve'") + '</filled></field></form>')
    test("3.1.1", "A DTMF grammar with repeat matches several keys.",
         '<form><field name="f"><conf:dtmf value="777"/><grammar mode="dtmf" version="1.0" root="r"><rule id="r"><item repeat="1-4">7</item></rule></grammar><filled>' + check("f$.utterance == '777'") + '</filled></field></form>')
    test("3.1.1", "A voice grammar does not match DTMF input (nomatch).",
         '<form><field name="f"><conf:dtmf value="1"/>' + g('Chicago') + '<nomatch><conf:pass/></nomatch><filled><conf:fail reason="filled"/></filled></field></form>')
    test("3.1.6", "Grammars of the field take precedence over document grammars for the same utterance.",
         '<link next="#wrong"><grammar version="1.0" root="r"><rule id="r">Chicago</rule></grammar></link>'
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha" interp="field"/><filled>' + check("f == 'field'") + '</filled></field></form>'
         '<form id="wrong"><block><conf:fail reason="link took precedence"/></block></form>')
    test("3.1.2", "An inline ABNF grammar (application/srgs) matches.",
         '<form><field name="f"><conf:speech value="delta"/><grammar type="application/srgs" mode="voice">\n#ABNF 1.0;\nlanguage en-US;\nroot $r;\n$r = London;\n</grammar><filled>' + check("f$.utterance == 'London'") + '</filled></field></form>')
    for name, keys, cond in [("digits", "2468", "f == '2468'"), ("digits?length=3", "135", "f == '135'"),
                             ("digits?minlength=2", "98", "f == '98'"), ("digits?maxlength=5", "12345", "f == '12345'"),
                             ("boolean", "1", "f === true"), ("boolean?y=7;n=9", "9", "f === false"),
                             ("boolean?y=7;n=9", "7", "f === true"),
                             ("number", "123", "f == 123"), ("number", "1*5", "f == 1.5"),
                             ("currency", "1250", "parseFloat(String(f).replace(/^[A-Z]{3}/, '')) == 1250"),
                             ("date", "20240115", "f == '20240115'"), ("time", "0930", "f.substring(0,4) == '0930'"),
                             ("phone", "5551234", "f == '5551234'")]:
        test("P", "The builtin DTMF grammar %s accepts '%s'." % (name, keys),
             '<form><field name="f"><conf:dtmf value="%s"/><grammar src="builtin:dtmf/%s"/><filled>%s</filled></field></form>'
             % (keys, name.replace("&", "&amp;"), check(cond)))
    for ftype, keys, cond in [("digits", "9", "f == '9'"), ("number", "42", "f == 42"), ("boolean", "2", "f === false"),
                              ("date", "19991231", "f == '19991231'"), ("phone", "18005551212", "f == '18005551212'"),
                              ("currency", "5", "typeof f == 'string'"), ("time", "1200", "typeof f == 'string'")]:
        field_dtmf("P", "A field of type %s accepts DTMF '%s' through the builtin grammar." % (ftype, keys), ftype, keys, cond)
    grammar_field("P", "The builtin boolean voice grammar maps 'yes' to true.", "", "yes", "f === true", fattrs=' type="boolean"')
    test("P", "A digits field rejects a key sequence of the wrong length (nomatch).",
         '<form><field name="f" type="digits?length=4"><conf:dtmf value="12"/><nomatch><conf:pass/></nomatch><filled><conf:fail reason="filled"/></filled></field></form>')
    test("P", "A boolean field rejects DTMF 5 (nomatch).",
         '<form><field name="f" type="boolean"><conf:dtmf value="5"/><nomatch><conf:pass/></nomatch><filled><conf:fail reason="filled"/></filled></field></form>')
    test("P", "An unknown builtin type throws error.unsupported.builtin.",
         '<form><catch event="error.unsupported"><conf:pass/></catch><field name="f" type="no-such-builtin"><conf:dtmf value="1"/></field></form>')

    # ---- 4 prompts --------------------------------------------------------
    def prompt_pick(spec, text, prompts, want="1", ftype="digits", extra=""):
        test(spec, text, '<form><field name="f" type="%s">%s%s<filled>%s</filled></field></form>'
             % (ftype, prompts, extra, check("f == '%s'" % want)))

    prompt_pick("4.1.6", "The prompt with count 1 plays on the first visit.",
                '<prompt count="1"><conf:dtmf value="1"/></prompt><prompt count="2"><conf:dtmf value="2"/></prompt>')
    prompt_pick("4.1.6", "On the second visit the prompt with count 2 is chosen.",
                '<prompt count="1"><conf:noinput/></prompt><prompt count="2"><conf:dtmf value="2"/></prompt><prompt count="3"><conf:dtmf value="3"/></prompt>',
                want="2", extra='<noinput><reprompt/></noinput>')
    test("4.1.6", "The prompt with the highest count not above the counter is chosen (third visit plays count 2, not count 5).",
         '<form><var name="n" expr="0"/><field name="f" type="digits"><prompt count="1"><conf:noinput/></prompt>'
         '<prompt count="2"><value expr="n == 1 ? \'No input expected. Say nothing.\' : \'Press \\\'2\\\'.\'"/></prompt><prompt count="5"><conf:dtmf value="5"/></prompt>'
         '<noinput><assign name="n" expr="n+1"/><reprompt/></noinput><filled>' + check("f == '2' && n == 2") + '</filled></field></form>')
    prompt_pick("4.1.6", "Several prompts with the same count all play, in order.",
                '<prompt><conf:dtmf value="8"/></prompt><prompt><conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.6", "A prompt whose cond is false does not play.",
                '<prompt><conf:dtmf value="1"/></prompt><prompt cond="false"><conf:dtmf value="2"/></prompt>')
    prompt_pick("4.1.6", "A prompt whose cond is true plays.",
                '<prompt><conf:dtmf value="2"/></prompt><prompt cond="1 == 1"><conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.6", "The prompt counter resets when the form is re-entered.",
                '<prompt count="1"><conf:dtmf value="1"/></prompt><prompt count="2"><conf:dtmf value="2"/></prompt>')
    prompt_pick("4.1.3", "value inside a prompt speaks the expression's value.",
                '<prompt>Press \'<value expr="\'1\'"/>\'.</prompt>')
    prompt_pick("4.1.3", "value with a computed expression.",
                '<prompt>Press \'<value expr="3 - 2"/>\'.</prompt>')
    prompt_pick("4.1.3", "audio fallback content is spoken when the audio cannot be played.",
                '<prompt><audio src="no-such-audio.wav"><conf:dtmf value="1"/></audio></prompt>')
    prompt_pick("4.1.3", "audio expr names the audio by an expression (fallback spoken).",
                '<prompt><audio expr="\'no-such-\' + \'audio.wav\'"><conf:dtmf value="1"/></audio></prompt>')
    prompt_pick("4.1", "Text directly in a field is treated as a prompt.",
                '<conf:dtmf value="1"/>')
    prompt_pick("4.1.1", "SSML break and emphasis are accepted inside prompts.",
                '<prompt><emphasis>now</emphasis><break time="100ms"/><conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.1", "say-as inside a prompt is accepted.",
                '<prompt><say-as interpret-as="digits">12</say-as> <conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.5", "bargein='false' prompts still lead to collection afterwards.",
                '<prompt bargein="false"><conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.5", "bargeintype='hotword' is accepted.",
                '<prompt bargeintype="hotword"><conf:dtmf value="1"/></prompt>')
    prompt_pick("4.1.7", "A prompt timeout attribute is accepted and collection proceeds.",
                '<prompt timeout="3s"><conf:dtmf value="1"/></prompt>')
    test("4.1.7", "The prompt timeout ends collection with noinput when silent.",
         '<form><field name="f" type="digits"><prompt timeout="2s"><conf:noinput/></prompt><noinput><conf:pass/></noinput></field></form>')
    test("4.1.8", "Prompts queued in a block play before the next collection (pass spoken last).",
         '<form><block><prompt>queued</prompt></block><block><conf:pass/></block></form>')
    test("4.1.2", "xml:lang on a prompt is accepted.",
         '<form><field name="f" type="digits"><prompt xml:lang="en-US"><conf:dtmf value="1"/></prompt><filled>' + check("f == '1'") + '</filled></field></form>')

    # ---- 6 environment: fetching, properties, params, time ---------------
    test("6.1.1", "fetchtimeout, fetchhint and maxage on goto are accepted.",
         '<form><block><goto next="2.vxml" fetchtimeout="5s" fetchhint="safe" maxage="0"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("6.1.1", "fetchaudio on submit is accepted.",
         '<form><block><submit next="2.vxml" fetchaudio="hold.wav"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("6.1.1", "Relative URIs resolve against the current document's URI.",
         '<form><block><goto next="sub/2.vxml"/></block></form>',
         files={"sub/2.txml": ('<form><block><goto next="../3.vxml"/></block></form>',),
                "3.txml": ('<form><block><conf:pass/></block></form>',)})
    test("6.1.1", "xml:base changes the base URI for relative references.",
         '<form><block><goto next="2.vxml"/></block></form>',
         files={"sub/2.txml": ('<form><block><conf:pass/></block></form>',)}, vattrs=' xml:base="sub/"')
    test("6.1.1", "A document that is not well-formed XML throws error.badfetch in the referring document.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><goto next="bad.vxml"/></block></form>',
         files={"bad.vxml": '<?xml version="1.0"?>\n<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block></vxml>\n'})
    test("6.1.1", "A document that breaks the schema throws error.badfetch in the referring document.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><goto next="bad.vxml"/></block></form>',
         files={"bad.vxml": '<?xml version="1.0"?>\n<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><nosuchelement/></block></form></vxml>\n'})
    test("6.1.1", "A plain .vxml document (no conf: markup) is served and runs.",
         '<form><block><goto next="plain.vxml"/></block></form>',
         files={"plain.vxml": '<?xml version="1.0"?>\n<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form><block><prompt>pass</prompt><exit/></block></form></vxml>\n'})
    for prop, val in [("timeout", "5s"), ("interdigittimeout", "2s"), ("termtimeout", "0s"), ("termchar", "#"),
                      ("completetimeout", "1s"), ("incompletetimeout", "2s"), ("maxspeechtimeout", "10s"),
                      ("confidencelevel", "0.5"), ("sensitivity", "0.5"), ("speedvsaccuracy", "0.5"),
                      ("bargein", "true"), ("bargeintype", "speech"), ("fetchtimeout", "10s"), ("documentmaxage", "0"),
                      ("grammarfetchhint", "safe"), ("inputmodes", "dtmf voice"), ("universals", "none"),
                      ("maxnbest", "1"), ("recordutterance", "false")]:
        test("6.3", "The property %s='%s' is accepted and input still collected." % (prop, val),
             '<property name="%s" value="%s"/><form><field name="f" type="digits"><conf:dtmf value="1"/><filled>%s</filled></field></form>'
             % (prop, val, check("f == '1'")))
    test("6.3", "A field-level property is accepted alongside input.",
         '<form><field name="f" type="digits"><property name="timeout" value="3s"/><conf:dtmf value="2"/><filled>' + check("f == '2'") + '</filled></field></form>')
    test("6.3.3", "termchar ends a DTMF entry and is not part of the value.",
         '<form><property name="termchar" value="#"/><field name="f" type="digits"><conf:dtmf value="45#"/><filled>' + check("f == '45'") + '</filled></field></form>')
    test("6.3.6", "inputmodes='dtmf' disables speech: an utterance gives nomatch or noinput, not a fill.",
         '<form><property name="inputmodes" value="dtmf"/><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/>'
         '<catch event="noinput nomatch"><conf:pass/></catch><filled><conf:fail reason="voice accepted"/></filled></field></form>')
    test("6.3", "An unknown property is ignored.",
         '<property name="com.example.unknown" value="x"/><form><block><conf:pass/></block></form>')
    test("6.4", "param inside subdialog with expr passes a computed value.",
         '<form><subdialog name="s" src="sub.vxml"><param name="p" expr="6*7"/><filled>' + check("s.p == 42") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="p"/><block><return namelist="p"/></block></form>',)})
    test("6.4", "A param for a variable the subdialog does not declare throws error.semantic in the subdialog.",
         '<form><subdialog name="s" src="sub.vxml"><param name="undeclared_p" expr="1"/><filled><conf:fail reason="no error"/></filled></subdialog></form>',
         files={"sub.txml": ('<form><catch event="error.semantic"><conf:pass/></catch><block><return/></block></form>',)})
    test("6.5", "Time designations in ms are accepted.",
         '<form><field name="f" type="digits"><property name="timeout" value="2500ms"/><conf:dtmf value="3"/><filled>' + check("f == '3'") + '</filled></field></form>')
    test("6.2", "meta and metadata elements are accepted and ignored.",
         '<meta name="author" content="vxp"/><metadata><x xmlns="urn:example">m</x></metadata><form><block><conf:pass/></block></form>')
    test("6.2", "meta http-equiv is accepted.",
         '<meta http-equiv="Cache-Control" content="no-cache"/><form><block><conf:pass/></block></form>')

    # ---- 5.1.4 / session and application variables -------------------------
    expr_test("5.1.4", "session.connection is an object.", "", "typeof session.connection == 'object'")
    expr_test("5.1.4", "session.connection.protocol.name is a string.", "", "typeof session.connection.protocol.name == 'string'")
    expr_test("5.1.4", "session.connection.local.uri is defined.", "", "typeof session.connection.local == 'object'")
    expr_test("5.1.4", "session.connection.remote.uri is defined.", "", "typeof session.connection.remote == 'object'")
    expr_test("5.1.4", "session.connection.redirect is an array or undefined.", "",
              "typeof session.connection.redirect == 'undefined' || typeof session.connection.redirect.length == 'number'")
    expr_test("5.1.4", "session.connection.aai is a string or undefined.", "",
              "typeof session.connection.aai == 'undefined' || typeof session.connection.aai == 'string'")
    test("5.1.5", "application.lastresult$ holds the last recognition's utterance.",
         '<form><field name="f" type="digits"><conf:dtmf value="31"/><filled>' + check("application.lastresult$.utterance == '31'") + '</filled></field></form>')
    test("5.1.5", "application.lastresult$.inputmode is 'dtmf' after key presses.",
         '<form><field name="f" type="digits"><conf:dtmf value="3"/><filled>' + check("application.lastresult$.inputmode == 'dtmf'") + '</filled></field></form>')
    test("5.1.5", "application.lastresult$[0] is the best result.",
         '<form><field name="f" type="digits"><conf:dtmf value="3"/><filled>' + check("application.lastresult$[0].utterance == '3'") + '</filled></field></form>')
    test("5.1.5", "application.lastresult$.interpretation holds the interpretation.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha" interp="C"/><filled>' + check("application.lastresult$.interpretation == 'C'") + '</filled></field></form>')
    test("5.1.5", "application.lastresult$.confidence is within 0..1.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("application.lastresult$.confidence >= 0 && application.lastresult$.confidence <= 1") + '</filled></field></form>')
    test("5.1.5", "application.lastresult$.length counts the n-best results.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("application.lastresult$.length >= 1") + '</filled></field></form>')

    # ---- VoiceXML 2.1 additions -------------------------------------------
    DATA = '<?xml version="1.0"?>\n<quote><ticker symbol="VXP" price="12.5">Voice</ticker><ticker symbol="ABC" price="3"/></quote>\n'
    for text, cond in [("data exposes the fetched document's documentElement.", "q.documentElement.nodeName == 'quote'"),
                       ("data supports getElementsByTagName.", "q.getElementsByTagName('ticker').length == 2"),
                       ("data supports getAttribute.", "q.getElementsByTagName('ticker').item(0).getAttribute('symbol') == 'VXP'"),
                       ("data supports firstChild and nodeValue of text nodes.", "q.documentElement.firstChild.firstChild.nodeValue == 'Voice'"),
                       ("data supports childNodes.length.", "q.documentElement.childNodes.length == 2"),
                       ("data node lists support index access.", "q.getElementsByTagName('ticker')[1].getAttribute('price') == '3'"),
                       ("data documentElement.tagName is the root name.", "q.documentElement.tagName == 'quote'"),
                       ("data elements report hasAttribute? getAttribute of a missing attribute is empty.", "q.documentElement.getAttribute('nope') == '' || q.documentElement.getAttribute('nope') == null")]:
        test("21-data", "<data> (VoiceXML 2.1 §5): " + text,
             '<form><block><data name="q" src="quote.xml"/>' + check(cond) + '</block></form>', files={"quote.xml": DATA})
    test("21-data", "<data> srcexpr computes the URI.",
         '<form><block><data name="q" srcexpr="\'quote\' + \'.xml\'"/>' + check("q.documentElement.nodeName == 'quote'") + '</block></form>', files={"quote.xml": DATA})
    test("21-data", "<data> for a missing resource throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><data name="q" src="missing.xml"/><conf:fail reason="no error"/></block></form>')
    test("21-data", "<data> of content that is not XML throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><data name="q" src="notxml.txt"/><conf:fail reason="no error"/></block></form>',
         files={"notxml.txt": "this is < not xml\n"})
    test("21-data", "<data> without name still fetches (and continues).",
         '<form><block><data src="quote.xml"/><conf:pass/></block></form>', files={"quote.xml": DATA})
    test("21-data", "<data> namelist with method='get' is accepted.",
         '<form><var name="sym" expr="\'VXP\'"/><block><data name="q" src="quote.xml" namelist="sym" method="get"/>' + check("q.documentElement.nodeName == 'quote'") + '</block></form>', files={"quote.xml": DATA})
    test("21-data", "<data> declares the variable in the current scope when it is not declared.",
         '<form><block><data name="fresh" src="quote.xml"/>' + check("typeof fresh == 'object'") + '</block></form>', files={"quote.xml": DATA})
    for text, setup, cond in [
            ("foreach iterates over every element of the array in order.",
             '<var name="a" expr="[1,2,3]"/><var name="s" expr="\'\'"/><foreach item="x" array="a"><assign name="s" expr="s + x"/></foreach>', "s == '123'"),
            ("foreach over an empty array executes nothing.",
             '<var name="a" expr="[]"/><var name="s" expr="0"/><foreach item="x" array="a"><assign name="s" expr="1"/></foreach>', "s == 0"),
            ("foreach item variable holds each element (objects too).",
             '<var name="a" expr="[{k:\'v\'}]"/><var name="s"/><foreach item="x" array="a"><assign name="s" expr="x.k"/></foreach>', "s == 'v'"),
            ("foreach can contain if and nested foreach.",
             '<var name="a" expr="[[1,2],[3]]"/><var name="n" expr="0"/><foreach item="row" array="a"><foreach item="c" array="row"><if cond="c &gt; 1"><assign name="n" expr="n+1"/></if></foreach></foreach>', "n == 2"),
            ("foreach array expression is evaluated once, before the loop.",
             '<var name="a" expr="[1,2]"/><var name="n" expr="0"/><foreach item="x" array="a"><assign name="n" expr="n+1"/></foreach>', "n == 2"),
    ]:
        expr_test("21-foreach", "<foreach> (VoiceXML 2.1 §6): " + text, setup, cond)
    test("21-foreach", "<foreach> (VoiceXML 2.1 §6): foreach over a number (not an array) throws error.semantic.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><var name="n" expr="5"/><foreach item="x" array="n"><log>x</log></foreach><conf:fail reason="no error"/></block></form>')
    test("21-foreach", "<foreach> over an undefined array throws error.semantic.",
         '<form><catch event="error.semantic"><conf:pass/></catch><block><var name="u"/><foreach item="x" array="u"><log>x</log></foreach><conf:fail reason="no error"/></block></form>')
    test("21-foreach", "<foreach> inside a prompt plays each element.",
         '<form><var name="keys" expr="[\'1\']"/><field name="f" type="digits"><prompt><foreach item="k" array="keys">Press \'<value expr="k"/>\'.</foreach></prompt><filled>' + check("f == '1'") + '</filled></field></form>')
    test("21-mark", "<mark> in a prompt is accepted and playback continues.",
         '<form><field name="f" type="digits"><prompt>Hello <mark name="m1"/><conf:dtmf value="1"/></prompt><filled>' + check("f == '1'") + '</filled></field></form>')
    test("21-mark", "application.lastresult$.markname names the last mark played before input.",
         '<form><field name="f" type="digits"><prompt>Hello <mark name="m1"/><conf:dtmf value="1"/></prompt><filled>' + check("application.lastresult$.markname == 'm1'") + '</filled></field></form>')
    test("21-mark", "application.lastresult$.marktime is a number.",
         '<form><field name="f" type="digits"><prompt>Hello <mark name="m1"/><conf:dtmf value="1"/></prompt><filled>' + check("typeof application.lastresult$.marktime == 'number'") + '</filled></field></form>')
    test("21-mark", "name$.markname is set on the field's shadow variable.",
         '<form><field name="f" type="digits"><prompt>Hello <mark name="m2"/><conf:dtmf value="1"/></prompt><filled>' + check("f$.markname == 'm2'") + '</filled></field></form>')
    test("21-mark", "<mark nameexpr> names the mark by expression.",
         '<form><field name="f" type="digits"><prompt>Hello <mark nameexpr="\'m\' + 3"/><conf:dtmf value="1"/></prompt><filled>' + check("application.lastresult$.markname == 'm3'") + '</filled></field></form>')
    test("21-disconnect", "<disconnect> throws connection.disconnect.hangup to the document.",
         '<form><catch event="connection.disconnect.hangup"><conf:pass/></catch><block><disconnect/></block></form>')
    test("21-disconnect", "<disconnect namelist> is accepted and connection.disconnect.hangup thrown.",
         '<form><var name="r" expr="1"/><catch event="connection.disconnect.hangup"><conf:pass/></catch><block><disconnect namelist="r"/></block></form>')
    test("21-grammar", "<grammar srcexpr> computes the grammar URI.",
         '<form><var name="g" expr="\'city.grxml\'"/><field name="f"><conf:speech value="bravo"/><grammar srcexpr="g" type="application/srgs+xml"/><filled>' + check("f == 'sf'") + '</filled></field></form>',
         files={"city.grxml": '<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" xml:lang="en-US" version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">San Francisco<tag>out=\'sf\';</tag></rule></grammar>\n'})
    test("21-grammar", "<grammar srcexpr> naming a missing grammar throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><field name="f"><conf:speech value="bravo"/><grammar srcexpr="\'missing.grxml\'" type="application/srgs+xml"/></field></form>')
    test("21-script", "<script srcexpr> computes the script URI.",
         '<form><block><script srcexpr="\'lib\' + \'.js\'"/>' + check("libValue() == 'lib'") + '</block></form>',
         files={"lib.js": "function libValue() { return 'lib'; }\n"})
    test("21-transfer", "A consultation transfer the far end answers hands the caller over: connection.disconnect.transfer is thrown.",
         '<form><catch event="connection.disconnect.transfer"><conf:pass/></catch><transfer name="t" dest="tel:+15551234" type="consultation"><filled><conf:fail reason="filled"/></filled></transfer></form>')
    test("21-transfer", "<transfer type='bridge'> behaves like bridge='true'.",
         '<form><transfer name="t" dest="tel:+15551234" type="bridge"><filled>' + check("t == 'far_end_disconnect'") + '</filled></transfer></form>')
    test("21-transfer", "<transfer aai> is accepted.",
         '<form><transfer name="t" dest="tel:+15551234" type="bridge" aai="data"><filled>' + check("t == 'far_end_disconnect'") + '</filled></transfer></form>')
    test("21-transfer", "<transfer aaiexpr> is accepted.",
         '<form><transfer name="t" dest="tel:+15551234" type="bridge" aaiexpr="\'a\' + 1"><filled>' + check("t == 'far_end_disconnect'") + '</filled></transfer></form>')
    test("21-transfer", "A blind transfer via type='blind' throws connection.disconnect.transfer.",
         '<form><catch event="connection.disconnect.transfer"><conf:pass/></catch><transfer name="t" dest="tel:+15551234" type="blind"/></form>')
    test("21-recordutterance", "With recordutterance=true, application.lastresult$.recording is set.",
         '<property name="recordutterance" value="true"/><form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("typeof application.lastresult$.recording != 'undefined'") + '</filled></field></form>')
    test("21-recordutterance", "With recordutterance=true, name$.recording is set.",
         '<property name="recordutterance" value="true"/><form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("typeof f$.recording != 'undefined'") + '</filled></field></form>')
    test("21-recordutterance", "With recordutterance=true, name$.recordingsize is positive.",
         '<property name="recordutterance" value="true"/><form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("f$.recordingsize > 0") + '</filled></field></form>')
    test("21-recordutterance", "With recordutterance=true, name$.recordingduration is a number.",
         '<property name="recordutterance" value="true"/><form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/><filled>' + check("typeof f$.recordingduration == 'number'") + '</filled></field></form>')
    test("21-value", "<value> inside <prompt> speaks a computed string.",
         '<form><var name="k" expr="\'1\'"/><field name="f" type="digits"><prompt>Press \'<value expr="k"/>\'.</prompt><filled>' + check("f == '1'") + '</filled></field></form>')
    test("21-value", "<value> inside SSML markup in a prompt is spoken.",
         '<form><field name="f" type="digits"><prompt><p><s>Press \'<value expr="2-1"/>\'.</s></p></prompt><filled>' + check("f == '1'") + '</filled></field></form>')

    # ---- Appendix D timing -------------------------------------------------
    test("D", "With no input before the timeout, noinput is thrown.",
         '<form><property name="timeout" value="1s"/><field name="f" type="digits"><conf:noinput/><noinput><conf:pass/></noinput></field></form>')
    test("D", "A DTMF entry shorter than the grammar allows completes at interdigittimeout as nomatch.",
         '<form><property name="interdigittimeout" value="1s"/><field name="f" type="digits?length=3"><conf:dtmf value="1"/><nomatch><conf:pass/></nomatch><noinput><conf:pass/></noinput><filled><conf:fail reason="filled"/></filled></field></form>')
    test("D", "A complete DTMF entry matching the grammar fills the field without waiting for more input.",
         '<form><field name="f" type="digits?length=2"><conf:dtmf value="12"/><filled>' + check("f == '12'") + '</filled></field></form>')

    # ---- more 2.x: options, initial, filled ordering, menus, links -----------
    test("2.3.1.3", "An option with dtmf fills the field with its value.",
         '<form><field name="f"><conf:dtmf value="2"/><option dtmf="1" value="one"/><option dtmf="2" value="two"/><filled>' + check("f == 'two'") + '</filled></field></form>')
    test("2.3.1.3", "An option matched by voice fills the field with its value.",
         '<form><field name="f"><conf:speech value="delta"/><option value="ldn"><conf:phrase utterance="delta"/></option><option value="chi"><conf:phrase utterance="alpha"/></option><filled>' + check("f == 'ldn'") + '</filled></field></form>')
    test("2.3.1.3", "An option without value gives its text as the value.",
         '<form><field name="f"><conf:speech value="echo"/><option><conf:phrase utterance="echo"/></option><filled>' + check("f == 'Tokyo'") + '</filled></field></form>')
    test("2.3.1.3", "enumerate in a field with options lists the options.",
         '<form><field name="f"><prompt><enumerate/> <conf:dtmf value="1"/></prompt><option dtmf="1" value="a">apple</option><filled>' + check("f == 'a'") + '</filled></field></form>')
    test("2.3.3", "initial is visited before fields while no field is filled.",
         '<form><var name="seen" expr="false"/><grammar version="1.0" root="r"><rule id="r">Tokyo<tag>out.city=\'t\';</tag></rule></grammar>'
         '<initial name="i"><prompt><conf:speech value="echo"/></prompt></initial><field name="city"/>'
         '<block>' + check("city == 't'") + '</block></form>')
    test("2.3.3", "An initial whose cond is false is skipped.",
         '<form><initial name="i" cond="false"><prompt><conf:noinput/></prompt></initial><block><conf:pass/></block></form>')
    test("2.3.3", "An initial with expr preset is skipped.",
         '<form><initial name="i" expr="true"><prompt><conf:noinput/></prompt></initial><block><conf:pass/></block></form>')
    test("2.4", "The field's filled runs before the form-level filled.",
         '<form><var name="seq" expr="\'\'"/><field name="f" type="digits"><conf:dtmf value="1"/><filled><assign name="seq" expr="seq+\'f\'"/></filled></field>'
         '<filled><assign name="seq" expr="seq+\'F\'"/>' + check("seq == 'fF'") + '</filled></form>')
    test("2.4", "A field's filled does not run when the field is filled by assign.",
         '<form><var name="n" expr="0"/><block><assign name="f" expr="\'x\'"/></block><field name="f"><filled><assign name="n" expr="1"/></filled></field><block>' + check("n == 0") + '</block></form>')
    test("2.4", "A form filled with mode='all' does not run until every field is filled.",
         '<form><var name="n" expr="0"/><field name="a" type="digits"><conf:dtmf value="1"/></field><block name="mid">' + check("n == 0", "form filled ran too early") + '</block>'
         '<field name="b" type="digits"><conf:dtmf value="2"/></field><filled mode="all"><assign name="n" expr="1"/></filled></form>'.replace(check("n == 0", "form filled ran too early"), '<if cond="n != 0"><conf:fail reason="form filled ran too early"/></if>') + '')
    test("2.2.3", "A link with a dtmf attribute matches that key.",
         '<link dtmf="5" next="#target"/><form><field name="f" type="boolean"><conf:dtmf value="5"/><filled><conf:fail reason="field filled"/></filled></field></form>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.2.1", "A menu with scope='document' keeps its choices active in other dialogs.",
         '<menu id="m" scope="document"><prompt><conf:dtmf value="9"/></prompt><choice dtmf="1" next="#other"/><choice dtmf="9" next="#target"/></menu>'
         '<form id="other"><field name="f" type="boolean"><conf:dtmf value="9"/><filled><conf:fail reason="not routed"/></filled></field></form>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.2.2", "choice accept='approximate' matches a subset of the choice phrase.",
         '<menu><prompt><conf:speech value="delta"/></prompt><choice next="#target" accept="approximate">London please</choice></menu>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.2.2", "A choice's inline grammar is used instead of its text.",
         '<menu><prompt><conf:speech value="echo"/></prompt><choice next="#target">capital<grammar version="1.0" root="r"><rule id="r">Tokyo</rule></grammar></choice></menu>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("2.3.2", "A block's goto nextitem can send the FIA back to an earlier field.",
         '<form><var name="n" expr="0"/><field name="f" type="digits"><conf:dtmf value="1"/></field>'
         '<block name="b"><assign name="n" expr="n+1"/><if cond="n == 1"><clear namelist="f b"/><goto nextitem="f"/></if>' + check("n == 2") + '</block></form>')
    test("5.3.3", "clear resets the prompt counter of a field.",
         '<form><var name="n" expr="0"/><field name="f" type="digits"><prompt count="1"><value expr="n == 0 ? \'Press \\\'1\\\'.\' : \'Press \\\'3\\\'.\'"/></prompt><prompt count="2"><conf:dtmf value="2"/></prompt>'
         '<filled><assign name="n" expr="n+1"/><if cond="n == 1"><clear namelist="f"/></if></filled></field><block>' + check("f == '3'") + '</block></form>')
    test("5.2.2", "Event counters reset when the form is re-entered.",
         '<var name="visits" expr="0"/><form id="f1"><field name="f" type="digits"><conf:noinput/><noinput count="1"><assign name="visits" expr="visits+1"/><if cond="visits == 2"><conf:pass/></if><goto next="#f1"/></noinput>'
         '<noinput count="2"><conf:fail reason="counter kept across form entry"/></noinput></field></form>')
    test("5.2.1", "An event thrown in filled is handled by the field's handler.",
         '<form><field name="f" type="digits"><conf:dtmf value="1"/><catch event="from.filled"><conf:pass/></catch><filled><throw event="from.filled"/></filled></field></form>')
    test("5.2.1", "An event thrown in a menu is handled by the menu's catch.",
         '<menu><catch event="nomatch"><conf:pass/></catch><prompt><conf:nomatch/></prompt><choice next="#x"><conf:phrase utterance="alpha"/></choice></menu><form id="x"><block><conf:fail reason="chosen"/></block></form>')
    test("5.2.6", "_event in an error.semantic handler names the error.",
         '<form><catch event="error.semantic">' + check("_event.indexOf('error.semantic') == 0") + '</catch><block><assign name="undeclared_zz" expr="1"/></block></form>')
    test("5.2.6", "submit to a missing document throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><submit next="missing-doc.vxml"/></block></form>')
    test("5.2.6", "A subdialog returning an event without a handler in the caller reaches document scope.",
         '<catch event="sub.ev"><conf:pass/></catch><form><subdialog name="s" src="sub.vxml"/></form>',
         files={"sub.txml": ('<form><block><return event="sub.ev"/></block></form>',)})
    test("5.3.10", "return with eventexpr throws the computed event in the caller.",
         '<form><catch event="sub.x"><conf:pass/></catch><subdialog name="s" src="sub.vxml"/></form>',
         files={"sub.txml": ('<form><block><return eventexpr="\'sub.\' + \'x\'"/></block></form>',)})
    test("5.3.10", "return with message sets _message in the caller's handler.",
         '<form><catch event="sub.x">' + check("_message == 'why'") + '</catch><subdialog name="s" src="sub.vxml"/></form>',
         files={"sub.txml": ('<form><block><return event="sub.x" message="why"/></block></form>',)})
    test("5.3.9", "exit namelist ends the session.",
         '<form><var name="r" expr="1"/><block><prompt>pass</prompt><exit namelist="r"/></block></form>')
    test("5.3.8", "submit with enctype multipart/form-data fetches the next document.",
         '<form><var name="x" expr="1"/><block><submit next="2.vxml" method="post" enctype="multipart/form-data" namelist="x"/></block></form>',
         files={"2.txml": ('<form><block><conf:pass/></block></form>',)})
    test("5.3.7", "goto to another document enters its first dialog.",
         '<form><block><goto next="2.vxml"/></block></form>',
         files={"2.txml": ('<form id="a"><block><conf:pass/></block></form><form id="b"><block><conf:fail reason="second dialog"/></block></form>',)})
    test("5.3.7", "A goto within the same document keeps document variables.",
         '<var name="d" expr="1"/><form><block><assign name="d" expr="2"/><goto next="#g"/></block></form><form id="g"><block>' + check("d == 2") + '</block></form>')
    test("5.3.7", "goto nextitem to an unknown item throws error.badfetch.",
         '<form><catch event="error.badfetch"><conf:pass/></catch><block><goto expritem="\'nosuch\'"/></block></form>')

    # ---- 5.1 scope chain, one assertion per scope pair -----------------------
    scopes = [("document", '<var name="v" expr="\'document\'"/>', ''), ]
    for reader, where in [("a block", "block"), ("a filled", "filled"), ("a catch", "catch")]:
        body_for = {
            "block": lambda c: '<form><block>%s</block></form>' % c,
            "filled": lambda c: '<form><field name="f" type="digits"><conf:dtmf value="1"/><filled>%s</filled></field></form>' % c,
            "catch": lambda c: '<form><catch event="e">%s</catch><block><throw event="e"/></block></form>' % c,
        }[where]
        test("5.1.2", "A document variable is visible unqualified in %s." % reader,
             '<var name="v" expr="\'doc\'"/>' + body_for(check("v == 'doc'")))
        test("5.1.2", "A document variable assigned in %s keeps its new value afterwards." % reader,
             '<var name="v" expr="0"/>' + body_for('<assign name="v" expr="5"/>' + check("document.v == 5")))
        test("5.1.2", "A dialog variable is visible in %s." % reader,
             body_for(check("dv == 'dlg'")).replace("<form>", '<form><var name="dv" expr="\'dlg\'"/>', 1))
        test("5.1.2", "A var in %s hides a document variable of the same name." % reader,
             '<var name="v" expr="\'doc\'"/>' + body_for('<var name="v" expr="\'inner\'"/>' + check("v == 'inner' && document.v == 'doc'")))
        test("5.1.2", "An application root variable is visible in %s." % reader,
             body_for(check("application.r == 'root' && r == 'root'")),
             files={"root.txml": ('<var name="r" expr="\'root\'"/>',)}, vattrs=' application="root.vxml"')
    test("5.1.2", "A leaf document variable hides an application variable of the same name.",
         '<var name="r" expr="\'leaf\'"/><form><block>' + check("r == 'leaf' && application.r == 'root'") + '</block></form>',
         files={"root.txml": ('<var name="r" expr="\'root\'"/>',)}, vattrs=' application="root.vxml"')
    test("5.1.2", "A script in the root document defines functions usable in the leaf.",
         '<form><block>' + check("rootFn() == 7") + '</block></form>',
         files={"root.txml": ('<script>function rootFn() { return 7; }</script>',)}, vattrs=' application="root.vxml"')
    test("5.1.2", "A link in the application root is active in the leaf document.",
         '<form><field name="f" type="boolean"><conf:dtmf value="9"/><filled><conf:fail reason="field filled"/></filled></field></form>',
         files={"root.txml": ('<link event="rootlink"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">9</rule></grammar></link><catch event="rootlink"><conf:pass/></catch>',)},
         vattrs=' application="root.vxml"')
    test("5.1.2", "Properties set in the application root apply in the leaf (collection still works).",
         '<form><field name="f" type="digits"><conf:dtmf value="12#"/><filled>' + check("f == '12'") + '</filled></field></form>',
         files={"root.txml": ('<property name="termchar" value="#"/>',)}, vattrs=' application="root.vxml"')
    test("1.5.2", "Going to a leaf of another application re-initialises application variables.",
         '<form><block><assign name="application.r" expr="\'changed\'"/><goto next="2.vxml"/></block></form>',
         files={"root.txml": ('<var name="r" expr="\'root\'"/>',),
                "root2.txml": ('<var name="r" expr="\'other\'"/>',),
                "2.txml": ('<form><block>' + check("application.r == 'other'") + '</block></form>', ' application="root2.vxml"')},
         vattrs=' application="root.vxml"')

    # ---- 5.1.1 values keep their ECMAScript types ---------------------------
    for label, expr, cond in [("a number", "42", "typeof x == 'number' && x == 42"),
                              ("a string", "'s'", "typeof x == 'string'"),
                              ("a boolean", "true", "x === true"),
                              ("null", "null", "x === null"),
                              ("an object", "({a: 1})", "x.a == 1"),
                              ("an array", "[4, 5]", "x[1] == 5"),
                              ("a function", "function () { return 3; }", "x() == 3"),
                              ("a Date", "new Date(0)", "x.getTime() == 0")]:
        expr_test("5.1.1", "A variable assigned %s keeps its ECMAScript type." % label,
                  '<var name="x"/><assign name="x" expr="%s"/>' % expr, cond)
    for label, expr, want in [("0", "0", False), ("the string '0'", "'0'", True), ("null", "null", False),
                              ("undefined", "undefined", False), ("the empty string", "''", False), ("an object", "({})", True)]:
        expr_test("5.3.4", "An if cond of %s is %s (ECMAScript truthiness)." % (label, "true" if want else "false"),
                  '<var name="r" expr="false"/><if cond="%s"><assign name="r" expr="true"/></if>' % expr,
                  "r == %s" % ("true" if want else "false"))
    test("5.1.1", "A dialog var's expr is evaluated on entering the dialog, after document vars.",
         '<var name="d" expr="2"/><form><var name="e" expr="d * 10"/><block>' + check("e == 20") + '</block></form>')
    test("5.1.1", "Dialog vars are evaluated in document order.",
         '<form><var name="a" expr="1"/><var name="b" expr="a + 1"/><block>' + check("b == 2") + '</block></form>')
    test("5.3.2", "assign to application.x from a leaf changes the root variable.",
         '<form><block><assign name="application.r" expr="5"/>' + check("r == 5") + '</block></form>',
         files={"root.txml": ('<var name="r" expr="1"/>',)}, vattrs=' application="root.vxml"')

    # ---- 5.2 more events -----------------------------------------------------
    test("5.2.6", "A caller hang-up throws connection.disconnect.hangup, handled by a catch.",
         '<form><catch event="connection.disconnect.hangup"><conf:pass/></catch><field name="f" type="digits"><conf:hangup/></field></form>')
    test("5.2.6", "connection.disconnect is a prefix that catches a hang-up.",
         '<form><catch event="connection.disconnect"><conf:pass/></catch><field name="f" type="digits"><conf:hangup/></field></form>')
    test("5.2.3", "A prompt in a noinput handler plays before the next collection.",
         '<form><field name="f" type="digits"><conf:noinput/><noinput><prompt><conf:dtmf value="6"/></prompt></noinput><filled>' + check("f == '6'") + '</filled></field></form>')
    test("5.2.3", "<error> handles error.badfetch.",
         '<form><error><conf:pass/></error><block><goto next="missing-doc.vxml"/></block></form>')
    test("5.2.4", "A catch at document scope with count selects by the event counter of the form item.",
         '<catch event="noinput" count="2"><conf:pass/></catch><catch event="noinput" count="1"><reprompt/></catch><form><field name="f" type="digits"><conf:noinput/></field></form>')
    # ---- 3 grammars: SRGS constructs inside VoiceXML ---------------------------
    grammar_field("3.1.1", "A special rule NULL matches without words.",
                  g('<ruleref special="NULL"/>London'), "delta", "f == 'London'")
    test("3.1.1", "An utterance matching only a VOID alternative gives nomatch.",
         '<form><field name="f"><conf:speech value="delta"/>' + g('<ruleref special="VOID"/>London') + '<nomatch><conf:pass/></nomatch><filled><conf:fail reason="VOID matched"/></filled></field></form>')
    test("3.1.1", "An utterance one repetition short of repeat='2' gives nomatch.",
         '<form><field name="f"><conf:speech value="echo"/>' + g('<item repeat="2">Tokyo</item>') + '<nomatch><conf:pass/></nomatch><filled><conf:fail reason="matched"/></filled></field></form>')
    grammar_field("3.1.1", "An item with repeat='1-' accepts one repetition.",
                  g('<item repeat="1-">Tokyo</item>'), "echo", "f$.utterance == 'Tokyo'")
    grammar_field("3.1.1", "Weights on alternatives do not prevent matching.",
                  g('<one-of><item weight="0.1">London</item><item weight="10">Tokyo</item></one-of>'), "delta", "f == 'London'")
    test("3.1.1", "A field with a DTMF and a voice grammar accepts DTMF.",
         '<form><field name="f"><conf:dtmf value="4"/><conf:grammar utterance="alpha"/><grammar mode="dtmf" version="1.0" root="r"><rule id="r">4<tag>out=\'four\';</tag></rule></grammar><filled>' + check("f == 'four'") + '</filled></field></form>')
    test("3.1.1", "A field with a DTMF and a voice grammar accepts voice.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha" interp="chi"/><grammar mode="dtmf" version="1.0" root="r"><rule id="r">4</rule></grammar><filled>' + check("f == 'chi'") + '</filled></field></form>')
    test("3.1.1", "A field with two voice grammars matches the second.",
         '<form><field name="f"><conf:speech value="hotel"/><conf:grammar utterance="alpha" interp="a"/><conf:grammar utterance="hotel" interp="h"/><filled>' + check("f == 'h'") + '</filled></field></form>')
    test("2.2.2", "A choice with accept='exact' (default) rejects a partial phrase.",
         '<menu><prompt><conf:speech value="delta"/></prompt><choice next="#x">London please</choice><nomatch><conf:pass/></nomatch></menu><form id="x"><block><conf:fail reason="partial accepted"/></block></form>')
    test("2.2.1", "A menu choice can be selected by voice or by its dtmf key (voice used).",
         '<menu><prompt><conf:speech value="golf"/></prompt><choice dtmf="1" next="#x"><conf:phrase utterance="golf"/></choice></menu><form id="x"><block><conf:pass/></block></form>')

    # ---- 2.3 record / transfer / subdialog attributes --------------------------
    for attrs in ['beep="true"', 'dtmfterm="true"', 'finalsilence="2s"', 'type="audio/x-wav"', 'maxtime="5s"']:
        test("2.3.6", "record with %s records and fills." % attrs,
             '<form><record name="r" %s><prompt><conf:recording/></prompt><filled>%s</filled></record></form>' % (attrs, check("typeof r != 'undefined'")))
    test("2.3.6", "A record whose cond is false is skipped.",
         '<form><record name="r" cond="false"><prompt><conf:recording/></prompt></record><block>' + check("typeof r == 'undefined'") + '</block></form>')
    for attrs in ['connecttimeout="10s"', 'maxtime="60s"', 'transferaudio="ring.wav"']:
        test("2.3.7", "A bridged transfer with %s completes." % attrs,
             '<form><transfer name="t" dest="tel:+15551234" bridge="true" %s><filled>%s</filled></transfer></form>' % (attrs, check("t == 'far_end_disconnect'")))
    test("2.3.7", "A transfer whose cond is false is skipped.",
         '<form><transfer name="t" dest="tel:+1" bridge="true" cond="false"/><block>' + check("typeof t == 'undefined'") + '</block></form>')
    test("2.3.4", "subdialog namelist is accepted (sent with the fetch).",
         '<form><var name="x" expr="1"/><subdialog name="s" src="sub.vxml" namelist="x"><filled>' + check("s.r == 1") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="r" expr="1"/><block><return namelist="r"/></block></form>',)})
    test("2.3.4", "subdialog method='post' fetches the subdialog.",
         '<form><subdialog name="s" src="sub.vxml" method="post"><filled>' + check("s.r == 1") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><var name="r" expr="1"/><block><return namelist="r"/></block></form>',)})
    test("2.3.4", "A subdialog's filled runs after it returns.",
         '<form><var name="n" expr="0"/><subdialog name="s" src="#sub"><filled><assign name="n" expr="1"/></filled></subdialog><block>' + check("n == 1") + '</block></form>'
         '<form id="sub"><block><return/></block></form>')
    test("2.3.4", "A subdialog whose cond is false is skipped.",
         '<form><subdialog name="s" src="#sub" cond="false"/><block>' + check("typeof s == 'undefined'") + '</block></form>'
         '<form id="sub"><block><conf:fail reason="entered"/></block></form>')
    test("2.3.4", "A subdialog gets its own document variables, separate from the caller's.",
         '<var name="d" expr="\'caller\'"/><form><subdialog name="s" src="sub.vxml"/><block>' + check("d == 'caller'") + '</block></form>',
         files={"sub.txml": ('<var name="d" expr="\'sub\'"/><form><block><assign name="d" expr="\'changed\'"/><return/></block></form>',)})
    test("2.3.4", "A subdialog collects input itself.",
         '<form><subdialog name="s" src="sub.vxml"><filled>' + check("s.f == '77'") + '</filled></subdialog></form>',
         files={"sub.txml": ('<form><field name="f" type="digits"><conf:dtmf value="77"/><filled><return namelist="f"/></filled></field></form>',)})

    # ---- Appendix P: more builtin parameters ----------------------------------
    for name, keys, cond in [("digits?length=1", "7", "f == '7'"), ("digits?minlength=1;maxlength=3", "123", "f == '123'"),
                             ("boolean?y=3", "3", "f === true"), ("boolean?n=4", "4", "f === false")]:
        test("P", "The builtin DTMF grammar %s accepts '%s'." % (name, keys),
             '<form><field name="f"><conf:dtmf value="%s"/><grammar src="builtin:dtmf/%s"/><filled>%s</filled></field></form>'
             % (keys, name, check(cond)))
    test("P", "digits?minlength=3 rejects two digits (nomatch).",
         '<form><field name="f" type="digits?minlength=3"><conf:dtmf value="12"/><nomatch><conf:pass/></nomatch><noinput><conf:pass/></noinput><filled><conf:fail reason="filled"/></filled></field></form>')

    # ---- 1 overview: concepts and execution ------------------------------------
    test("1.5.1", "A dialog that ends without a transition ends the document: the next form is not entered.",
         '<form><block><prompt>pass</prompt></block></form><form id="second"><block><conf:fail reason="second form entered"/></block></form>')
    test("1.5.1", "Execution starts at the first dialog in document order.",
         '<form id="first"><block><conf:pass/></block></form><form id="second"><block><conf:fail reason="second form first"/></block></form>')
    test("1.3.1", "A menu is a dialog that goto can address by its id.",
         '<form><block><goto next="#m"/></block></form><menu id="m"><prompt><conf:dtmf value="1"/></prompt><choice dtmf="1" next="#done"/></menu><form id="done"><block><conf:pass/></block></form>')
    test("1.3.1", "A subdialog returns to the dialog that called it, which continues with its next item.",
         '<form><subdialog name="s" src="#sub"/><block><conf:pass/></block></form><form id="sub"><block><return/></block></form>')
    test("1.3.2", "Session variables stay the same across documents of a session.",
         '<form><block><goto next="2.vxml"/></block></form>',
         files={"2.txml": ('<form><block>' + check("typeof session.connection == 'object'") + '</block></form>',)})
    test("1.3.3", "A leaf document loads its application root document first.",
         '<form><block>' + check("rootLoaded == true") + '</block></form>',
         files={"root.txml": ('<var name="rootLoaded" expr="true"/>',)}, vattrs=' application="root.vxml"')
    test("1.3.4", "A field grammar is active only while its field listens: the next field does not match it.",
         '<form><field name="a"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/></field>'
         '<field name="b"><conf:speech value="alpha"/><conf:grammar utterance="delta"/><nomatch><conf:pass/></nomatch><filled><conf:fail reason="grammar of field a still active"/></filled></field></form>')
    test("1.3.4", "A form grammar is active in every field of its form.",
         '<form><grammar version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">Hackensack<tag>out.b=\'hk\';</tag></rule></grammar>'
         '<field name="a"><conf:speech value="golf"/><conf:grammar utterance="alpha"/></field><field name="b"/>'
         '<filled namelist="b">' + check("b == 'hk' && typeof a == 'undefined'") + '</filled></form>')
    test("1.3.5", "The platform throws events (noinput) that the document handles.",
         '<form><field name="f" type="digits"><conf:noinput/><catch event="noinput"><conf:pass/></catch></field></form>')
    test("1.3.5", "The application throws its own events with throw.",
         '<form><catch event="app.custom"><conf:pass/></catch><block><throw event="app.custom"/></block></form>')
    test("1.3.6", "A link in a form is active while the user is in that form.",
         '<form><link next="#target"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">0</rule></grammar></link><field name="f" type="boolean"><conf:dtmf value="0"/></field></form>'
         '<form id="target"><block><conf:pass/></block></form>')
    test("1.3.6", "A link in another form is not active.",
         '<form><field name="f" type="boolean"><conf:dtmf value="0"/><nomatch><conf:pass/></nomatch><filled><conf:fail reason="filled"/></filled></field></form>'
         '<form id="other"><link next="#x"><grammar mode="dtmf" version="1.0" root="r"><rule id="r">0</rule></grammar></link><block/></form>'
         '<form id="x"><block><conf:fail reason="link of another form taken"/></block></form>')

    # ---- audio fallback, srcexpr grammars, recordutterance, typeahead ----------
    test("4.1.3", "Audio that cannot be played with empty content plays nothing and throws no event.",
         '<form><catch event="error"><conf:fail reason="an event was thrown"/></catch>'
         '<field name="f" type="digits"><prompt><audio src="no-such-audio.wav"/><conf:dtmf value="1"/></prompt>'
         '<filled>' + check("f == '1'") + '</filled></field></form>')
    test("4.1.3", "The alternate content of unplayable audio may hold audio whose own alternate content is spoken.",
         '<form><field name="f" type="digits"><prompt><audio src="no-such-audio.wav"><audio src="none-either.wav"><conf:dtmf value="1"/></audio></audio></prompt>'
         '<filled>' + check("f == '1'") + '</filled></field></form>')
    test("4.1.3", "Audio that can be played is played instead of its alternate content.",
         '<form><field name="f" type="digits"><prompt><conf:dtmf value="1"/><audio src="tone.wav"><conf:dtmf value="2"/></audio></prompt>'
         '<filled>' + check("f == '1'") + '</filled></field></form>',
         files={"tone.wav": "RIFF0000WAVE\n"})
    test("21-grammar", "<grammar srcexpr> is evaluated when the field is collected, not when the page loads.",
         '<form><var name="g" expr="\'missing.grxml\'"/><block><assign name="g" expr="\'city.grxml\'"/></block>'
         '<field name="f"><conf:speech value="bravo"/><grammar srcexpr="g" type="application/srgs+xml"/>'
         '<filled>' + check("f == 'sf'") + '</filled></field></form>',
         files={"city.grxml": '<?xml version="1.0"?>\n<grammar xmlns="http://www.w3.org/2001/06/grammar" xml:lang="en-US" version="1.0" root="r" tag-format="semantics/1.0"><rule id="r">San Francisco<tag>out=\'sf\';</tag></rule></grammar>\n'})
    test("21-recordutterance", "With recordutterance=true, application.lastresult$.recordingsize is positive.",
         '<property name="recordutterance" value="true"/><form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/>'
         '<filled>' + check("application.lastresult$.recordingsize > 0") + '</filled></field></form>')
    test("21-recordutterance", "Without recordutterance, name$.recording is undefined.",
         '<form><field name="f"><conf:speech value="alpha"/><conf:grammar utterance="alpha"/>'
         '<filled>' + check("typeof f$.recording == 'undefined'") + '</filled></field></form>')
    test("4.1.8", "Keys typed beyond a field's maximum length are kept for the next field (typeahead).",
         '<form><field name="a" type="digits?length=2"><conf:dtmf value="123"/></field>'
         '<field name="b" type="digits?length=1"><prompt>Next.</prompt><noinput><conf:fail reason="typeahead lost"/></noinput></field>'
         '<filled mode="all" namelist="a b">' + check("a == '12' && b == '3'") + '</filled></form>')
    test("4.1.5", "Typeahead is discarded when the next prompt cannot be barged into.",
         '<form><field name="a" type="digits?length=2"><conf:dtmf value="123"/></field>'
         '<field name="b" type="digits?length=1"><prompt bargein="false">No barge-in. <conf:dtmf value="4"/></prompt></field>'
         '<filled mode="all" namelist="a b">' + check("a == '12' && b == '4'") + '</filled></form>')
